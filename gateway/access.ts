// Authorization: roles per org and per repository. A task belongs to a repository, a repository to an org;
// a caller sees and acts only on repositories where it holds a role (a per-repo role overrides the org's).
import { and, type Column, eq, inArray, ne, or, type SQL, sql } from 'drizzle-orm';
import { type RecordDb, schema } from '../actors/recorder/index.ts';
import type { Blackboard } from '../blackboard/index.ts';
import { keys, TaskRecord } from '../schemas/index.ts';
import type { Role as RoleName } from '../schemas/api.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './types.ts';

/** The columns of a repository reference (RepoRef), for `select`. */
export const REPO_REF = {
  id: schema.repos.id,
  orgId: schema.repos.orgId,
  path: schema.repos.path,
  name: schema.repos.name,
};

const RANK: Record<RoleName, number> = { viewer: 1, developer: 2, approver: 3, admin: 4 };
export const atLeast = (have: RoleName | undefined, want: RoleName) => !!have && RANK[have] >= RANK[want];

export interface RepoRef {
  id: string;
  orgId: string;
  path: string;
  name: string;
}

/** What a caller may see: everything (superuser) or these orgs (org role) and repositories (repo role). */
export interface Visibility {
  all: boolean;
  orgIds: string[];
  repoIds: string[];
}

/**
 * The condition on a table's `task_id` column for the tasks `vis` may see: undefined when it sees everything.
 * Instance-wide figures (metrics, calibration) are computed over this for anyone but the instance admin.
 */
export function visibleTaskIds(db: RecordDb, vis: Visibility, taskId: Column): SQL | undefined {
  if (vis.all) return undefined;
  const t = schema.tasks;
  const parts: SQL[] = [];
  if (vis.orgIds.length) parts.push(inArray(t.orgId, vis.orgIds));
  if (vis.repoIds.length) parts.push(inArray(t.repoId, vis.repoIds));
  if (parts.length === 0) return sql`false`;
  return inArray(
    taskId,
    db
      .select({ id: t.id })
      .from(t)
      .where(or(...parts)),
  );
}

/**
 * A task that does not exist, or that the caller may not view: one answer for both, byte for byte (the id is
 * not echoed either), so nothing tells another org's ids from ids that exist nowhere.
 */
export const taskNotFound = () =>
  new ApiError(404, 'TASK_NOT_FOUND', 'no task with this id that you may view');

export const overlapError = () =>
  new ApiError(
    409,
    'REPO_OVERLAPS',
    'this path is inside, or holds, a repository registered in another org (one org per path)',
  );

/** Role lookups are cached this long: a role change takes effect within a second on every gateway. */
const ROLE_TTL_MS = 1000;

export class Access {
  /** A task's repository never changes: cached without expiry (bounded size). */
  private readonly taskRepo = new Map<string, { repoId: string | null; repoPath: string }>();
  private readonly repos = new Map<string, RepoRef>();
  private readonly roles = new Map<string, { role: RoleName | undefined; until: number }>();

  constructor(
    private readonly db: RecordDb,
    private readonly board: Blackboard,
    private readonly now: () => number = Date.now,
  ) {}

  /** Forgets cached roles (after a membership change through this gateway). */
  forgetRoles(): void {
    this.roles.clear();
  }

  private async cachedRole(
    key: string,
    load: () => Promise<RoleName | undefined>,
  ): Promise<RoleName | undefined> {
    const hit = this.roles.get(key);
    if (hit && hit.until > this.now()) return hit.role;
    const role = await load();
    if (this.roles.size > 50_000) this.roles.clear();
    this.roles.set(key, { role, until: this.now() + ROLE_TTL_MS });
    return role;
  }

  async orgRole(p: Principal, orgId: string): Promise<RoleName | undefined> {
    if (p.superuser) return 'admin';
    return this.cachedRole(`o|${p.userId}|${orgId}`, () => this.loadOrgRole(p, orgId));
  }

  private async loadOrgRole(p: Principal, orgId: string): Promise<RoleName | undefined> {
    const [m] = await this.db
      .select({ role: schema.memberships.role })
      .from(schema.memberships)
      .where(and(eq(schema.memberships.userId, p.userId), eq(schema.memberships.orgId, orgId)));
    return m?.role;
  }

  async repoRole(p: Principal, repo: RepoRef): Promise<RoleName | undefined> {
    if (p.superuser) return 'admin';
    return this.cachedRole(`r|${p.userId}|${repo.id}`, () => this.loadRepoRole(p, repo));
  }

  private async loadRepoRole(p: Principal, repo: RepoRef): Promise<RoleName | undefined> {
    const [r] = await this.db
      .select({ role: schema.repoRoles.role })
      .from(schema.repoRoles)
      .where(and(eq(schema.repoRoles.userId, p.userId), eq(schema.repoRoles.repoId, repo.id)));
    return r?.role ?? (await this.loadOrgRole(p, repo.orgId));
  }

  async visibility(p: Principal): Promise<Visibility> {
    if (p.superuser) return { all: true, orgIds: [], repoIds: [] };
    const orgs = await this.db
      .select({ orgId: schema.memberships.orgId })
      .from(schema.memberships)
      .where(eq(schema.memberships.userId, p.userId));
    const repos = await this.db
      .select({ repoId: schema.repoRoles.repoId, role: schema.repoRoles.role })
      .from(schema.repoRoles)
      .where(eq(schema.repoRoles.userId, p.userId));
    return { all: false, orgIds: orgs.map((o) => o.orgId), repoIds: repos.map((r) => r.repoId) };
  }

  async repoByPath(path: string): Promise<RepoRef | undefined> {
    const [r] = await this.db.select(REPO_REF).from(schema.repos).where(eq(schema.repos.path, path));
    return r;
  }

  /**
   * A repository of another org than `orgId` registered inside `path` or around it (real paths): a checkout
   * nested in another org's tree, or holding one, is not registered (one org per path, also one level down).
   */
  async overlappingRepo(path: string, orgId: string): Promise<RepoRef | undefined> {
    const r = schema.repos;
    const [hit] = await this.db
      .select({ id: r.id, orgId: r.orgId, path: r.path, name: r.name })
      .from(r)
      .where(
        and(
          ne(r.orgId, orgId),
          ne(r.path, path),
          or(sql`starts_with(${r.path}, ${`${path}/`})`, sql`starts_with(${`${path}/`}, ${r.path} || '/')`),
        ),
      )
      .limit(1);
    return hit;
  }

  async repoById(id: string): Promise<RepoRef | undefined> {
    const hit = this.repos.get(id);
    if (hit) return hit;
    const [r] = await this.db.select(REPO_REF).from(schema.repos).where(eq(schema.repos.id, id));
    // A repository keeps its id, org and path: no expiry needed.
    if (r) {
      if (this.repos.size > 100_000) this.repos.clear();
      this.repos.set(id, r);
    }
    return r;
  }

  async reposByIds(ids: string[]): Promise<RepoRef[]> {
    if (ids.length === 0) return [];
    return this.db.select(REPO_REF).from(schema.repos).where(inArray(schema.repos.id, ids));
  }

  /**
   * The task's repository and the caller's role there. 404 TASK_NOT_FOUND when the task exists nowhere or the
   * caller may not even view it (no role on its repository: it answers as a missing one, so another org's ids
   * do not leak); 403 when the caller views it but holds no role of at least `want` there (a task on an
   * unregistered path: superusers only).
   */
  async authorizeTask(
    p: Principal,
    taskId: string,
    want: RoleName,
  ): Promise<{ repo?: RepoRef; role: RoleName; record?: TaskRecord }> {
    let row = this.taskRepo.get(taskId);
    if (!row?.repoId) {
      [row] = await this.db
        .select({ repoId: schema.tasks.repoId, repoPath: schema.tasks.repoPath })
        .from(schema.tasks)
        .where(eq(schema.tasks.id, taskId));
      if (row?.repoId) {
        if (this.taskRepo.size > 100_000) this.taskRepo.clear();
        this.taskRepo.set(taskId, row);
      }
    }
    let record: TaskRecord | undefined;
    let repoPath = row?.repoPath;
    if (!row) {
      record = (await this.board.get(keys.task(taskId), TaskRecord))?.value;
      if (!record) throw taskNotFound();
      repoPath = record.repoPath;
    }
    const repo = row?.repoId ? await this.repoById(row.repoId) : await this.repoByPath(repoPath!);
    const role = repo ? await this.repoRole(p, repo) : p.superuser ? 'admin' : undefined;
    if (!atLeast(role, 'viewer')) throw taskNotFound();
    if (!atLeast(role, want))
      throw new ApiError(403, 'FORBIDDEN', `you need the ${want} role on the repository of this task`);
    return { repo, role: role!, record };
  }
}
