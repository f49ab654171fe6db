// The real Java azure-identity (Maven Central, pinned in sdk/java/pom.xml) against the identity endpoint, run with
// Java's single-file source launcher over the jars install.sh copied.
import { join } from 'node:path';
import { SDK_CACHE, SDK_DIR, describeSdk } from './sdk-cases';

const lib = join(SDK_CACHE, 'java-lib');
describeSdk({
  name: 'Java azure-identity',
  command: ['java', '-cp', `${lib}/*`, join(SDK_DIR, 'java/Probe.java')],
  requires: [join(lib, 'azure-identity-1.19.0.jar')],
  // The JVM sizes itself for the machine; one token needs little. SLF4J has no binding: its notice goes to stderr.
  env: { JAVA_TOOL_OPTIONS: '-Xss512k -XX:TieredStopAtLevel=1 -XX:+UseSerialGC' },
});
