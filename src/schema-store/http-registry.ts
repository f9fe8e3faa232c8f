import { DecodeError, SchemaRegistryError } from '../schemas/errors.ts';
import type { SchemaRegistry, SubjectVersion } from '../schemas/registry.ts';

export interface HttpSchemaRegistryOptions {
  /** Base URL, e.g. http://127.0.0.1:8081 (a trailing slash is fine). */
  url: string;
  /** Register our schema under `<topic>-value` on first encode (Confluent auto.register.schemas). */
  autoRegister?: boolean;
  timeoutMs?: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Confluent error_code values we act on. */
const SUBJECT_NOT_FOUND = 40401;
const SCHEMA_NOT_FOUND = 40403;

interface RegistryErrorBody {
  error_code?: number;
  message?: string;
}

/**
 * Client for the few endpoints of a Confluent-compatible Schema Registry that prism needs
 * (GET /schemas/ids/{id}, POST /subjects/{s}/versions, POST /subjects/{s}, GET /subjects,
 * GET /subjects/{s}/versions/{v}). Subjects follow TopicNameStrategy: `<topic>-value`.
 * Results are cached for the life of the process (ids are immutable); concurrent lookups of
 * the same id share one request; failures are not cached.
 */
export class HttpSchemaRegistry implements SchemaRegistry {
  readonly source: string;
  private readonly base: string;
  private readonly autoRegister: boolean;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly schemas = new Map<number, Promise<string>>();
  private readonly ids = new Map<string, Promise<number>>();

  constructor(opts: HttpSchemaRegistryOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.source = this.base;
    this.autoRegister = opts.autoRegister ?? true;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fetchFn = opts.fetch ?? fetch;
  }

  subjectFor(topic: string | undefined, recordName: string): string {
    // Without a topic (file tools) fall back to RecordNameStrategy.
    return topic === undefined ? recordName : `${topic}-value`;
  }

  idFor(subject: string, schema: string): Promise<number> {
    const key = `${subject}\n${schema}`;
    let p = this.ids.get(key);
    if (!p) {
      p = this.lookupOrRegister(subject, schema);
      this.ids.set(key, p);
      p.catch(() => this.ids.delete(key));
    }
    return p;
  }

  schemaById(id: number): Promise<string> {
    let p = this.schemas.get(id);
    if (!p) {
      p = this.fetchSchema(id);
      this.schemas.set(id, p);
      p.catch(() => this.schemas.delete(id));
    }
    return p;
  }

  async list(): Promise<SubjectVersion[]> {
    const subjects = await this.request<string[]>('GET', '/subjects');
    const out: SubjectVersion[] = [];
    for (const subject of subjects.body ?? []) {
      const versions = await this.request<number[]>(
        'GET',
        `/subjects/${encodeURIComponent(subject)}/versions`,
      );
      for (const version of versions.body ?? []) {
        const v = await this.request<{ id: number; schema: string }>(
          'GET',
          `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
        );
        if (v.body) out.push({ subject, version, id: v.body.id, schema: v.body.schema });
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  private async fetchSchema(id: number): Promise<string> {
    const res = await this.request<{ schema?: string; schemaType?: string }>('GET', `/schemas/ids/${id}`);
    if (res.status === 404) {
      throw new DecodeError('DECODE_UNKNOWN_SCHEMA_ID', `schema id ${id} is not registered at ${this.base}`);
    }
    const body = this.expectOk(res, `GET /schemas/ids/${id}`);
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new DecodeError(
        'SCHEMA_MISMATCH',
        `schema id ${id} at ${this.base} is ${body.schemaType}, not AVRO`,
      );
    }
    if (typeof body.schema !== 'string') {
      throw new SchemaRegistryError('REGISTRY_HTTP_ERROR', `GET /schemas/ids/${id}: response has no schema`);
    }
    return body.schema;
  }

  private async lookupOrRegister(subject: string, schema: string): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    if (this.autoRegister) {
      // Registering an already-registered schema returns its existing id.
      const res = await this.request<{ id?: number }>('POST', `${path}/versions`, { schema });
      return this.idOf(this.expectOk(res, `POST ${path}/versions`), `POST ${path}/versions`);
    }
    const res = await this.request<{ id?: number }>('POST', path, { schema });
    const code = (res.body as RegistryErrorBody | undefined)?.error_code;
    if (res.status === 404 || code === SUBJECT_NOT_FOUND || code === SCHEMA_NOT_FOUND) {
      throw new SchemaRegistryError(
        'REGISTRY_SCHEMA_NOT_REGISTERED',
        `schema is not registered under subject ${subject} at ${this.base} (register it, or set input.schemaRegistry.autoRegister)`,
      );
    }
    return this.idOf(this.expectOk(res, `POST ${path}`), `POST ${path}`);
  }

  private idOf(body: { id?: number }, what: string): number {
    if (typeof body.id !== 'number' || !Number.isInteger(body.id)) {
      throw new SchemaRegistryError('REGISTRY_HTTP_ERROR', `${what}: response has no integer id`);
    }
    return body.id;
  }

  private expectOk<T>(res: { status: number; body: T | undefined }, what: string): T {
    if (res.status >= 200 && res.status < 300 && res.body !== undefined) return res.body;
    const err = res.body as RegistryErrorBody | undefined;
    throw new SchemaRegistryError(
      'REGISTRY_HTTP_ERROR',
      `${what} at ${this.base} failed: HTTP ${res.status}${err?.message ? ` (${err.message})` : ''}`,
    );
  }

  private async request<T>(
    method: string,
    path: string,
    json?: unknown,
  ): Promise<{ status: number; body: T | undefined }> {
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers: { Accept: CONTENT_TYPE, ...(json === undefined ? {} : { 'Content-Type': CONTENT_TYPE }) },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SchemaRegistryError(
        'REGISTRY_UNREACHABLE',
        `schema registry ${this.base} unreachable: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    let body: T | undefined;
    try {
      body = text.length > 0 ? (JSON.parse(text) as T) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }
}
