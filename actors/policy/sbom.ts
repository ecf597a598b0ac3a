// A CycloneDX 1.5 SBOM of the dependencies a patch adds or changes, with package URLs and resolved licenses.
import { createHash } from 'node:crypto';
import type { CycloneDxBom, DependencyChange } from '../../schemas/index.ts';

/** The package URL (purl spec) of a dependency. */
export function purlOf(d: Pick<DependencyChange, 'ecosystem' | 'name' | 'version'>): string {
  const v = d.version ? `@${encodeURIComponent(d.version)}` : '';
  if (d.ecosystem === 'npm') {
    const [scope, name] = d.name.startsWith('@') ? d.name.split('/') : [undefined, d.name];
    return `pkg:npm/${scope ? `${encodeURIComponent(scope)}/` : ''}${encodeURIComponent(name!)}${v}`;
  }
  if (d.ecosystem === 'PyPI') return `pkg:pypi/${encodeURIComponent(d.name)}${v}`;
  return `pkg:golang/${d.name.split('/').map(encodeURIComponent).join('/')}${v}`;
}

/**
 * The SBOM of `deps`. The serial number is derived from the content, so the same patch always gets the same
 * document (a re-run after a crash writes an identical report).
 */
export function sbomOf(deps: readonly DependencyChange[], subject?: string): CycloneDxBom {
  const components = deps.map((d) => {
    const purl = purlOf(d);
    return {
      type: 'library' as const,
      'bom-ref': purl,
      name: d.name,
      ...(d.version && { version: d.version }),
      purl,
      ...(d.license && { licenses: [{ expression: d.license }] }),
      properties: [
        { name: 'codemesh:manifest', value: `${d.file}:${d.line}` },
        ...(d.spec ? [{ name: 'codemesh:spec', value: d.spec }] : []),
      ],
    };
  });
  const h = createHash('sha256').update(JSON.stringify({ subject, components })).digest('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuid}`,
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: 'codemesh' }] },
      ...(subject && { component: { type: 'application', name: subject, 'bom-ref': subject } }),
    },
    components,
  };
}
