import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../../errors.ts';
import { execCollect, isEnoent, tailLines } from './exec.ts';

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set and valid, else `java` from PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.JAVA_HOME;
  if (home !== undefined && home !== '') {
    const candidate = join(home, 'bin', 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

/** Major version from `java -version` output (`openjdk version "17.0.15"`, `"1.8.0_392"`). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (m === null) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** Ensure a JDK 17+ is runnable; returns the java command. */
export async function requireJava(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const java = javaCommand(env);
  let output: string;
  try {
    output = (await execCollect(java, ['-version'])).output;
  } catch (err) {
    if (isEnoent(err)) {
      throw new BrokerError(
        'JAVA_NOT_FOUND',
        'java not found (PATH or JAVA_HOME): the local Kafka broker needs a JDK 17+, e.g. `apt-get install openjdk-17-jdk-headless`',
        { cause: err },
      );
    }
    throw err;
  }
  const major = parseJavaMajor(output);
  if (major === undefined || major < 17) {
    throw new BrokerError(
      'JAVA_TOO_OLD',
      `${java} is not a JDK 17+ (found: ${tailLines(output, 1) || 'unknown version'}); set JAVA_HOME to a JDK 17+`,
    );
  }
  return java;
}

/** Ensure Maven is runnable; returns the mvn command. */
export async function requireMaven(): Promise<string> {
  try {
    const res = await execCollect('mvn', ['-v']);
    if (res.code !== 0) throw new Error(`mvn -v exited ${res.code}: ${tailLines(res.output, 5)}`);
    return 'mvn';
  } catch (err) {
    if (isEnoent(err)) {
      throw new BrokerError(
        'MAVEN_NOT_FOUND',
        'mvn not found on PATH: Maven fetches the Kafka jars from Maven Central, e.g. `apt-get install maven`',
        { cause: err },
      );
    }
    throw new BrokerError('MAVEN_FAILED', `mvn is on PATH but does not run: ${String(err)}`, { cause: err });
  }
}
