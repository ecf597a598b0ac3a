// In-process HTTP metrics and the Prometheus text rendering of `/v1/metrics`.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;

export class HttpMetrics {
  private readonly requests = new Map<string, number>();
  private readonly hist = new Map<string, { counts: number[]; sum: number; n: number }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = JSON.stringify([method, route, String(status)]);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hk = JSON.stringify([method, route]);
    const h = this.hist.get(hk) ?? { counts: BUCKETS.map(() => 0), sum: 0, n: 0 };
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.n++;
    this.hist.set(hk, h);
  }

  render(): string[] {
    const out = [
      '# HELP codemesh_http_requests_total HTTP requests by method, route and status.',
      '# TYPE codemesh_http_requests_total counter',
    ];
    for (const [k, n] of this.requests) {
      const [method, route, status] = JSON.parse(k) as string[];
      out.push(
        `codemesh_http_requests_total${labels({ method: method!, route: route!, status: status! })} ${n}`,
      );
    }
    out.push(
      '# HELP codemesh_http_request_duration_seconds Request latency.',
      '# TYPE codemesh_http_request_duration_seconds histogram',
    );
    for (const [k, h] of this.hist) {
      const [method, route] = JSON.parse(k) as string[];
      const l = { method: method!, route: route! };
      BUCKETS.forEach((b, i) => {
        out.push(
          `codemesh_http_request_duration_seconds_bucket${labels({ ...l, le: String(b) })} ${h.counts[i]}`,
        );
      });
      out.push(`codemesh_http_request_duration_seconds_bucket${labels({ ...l, le: '+Inf' })} ${h.n}`);
      out.push(`codemesh_http_request_duration_seconds_sum${labels(l)} ${h.sum}`);
      out.push(`codemesh_http_request_duration_seconds_count${labels(l)} ${h.n}`);
    }
    return out;
  }
}

export function gauge(
  name: string,
  help: string,
  type: 'gauge' | 'counter',
  rows: Array<[Record<string, string>, number]>,
): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...rows.map(([l, v]) => `${name}${Object.keys(l).length ? labels(l) : ''} ${v}`),
  ];
}
