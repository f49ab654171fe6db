/**
 * Stand-ins for an old Java (a shell script to write as an executable `java`): it answers `-version` as
 * OpenJDK does and fails on DynamoDB Local's jar exactly as a JVM too old for its class files does.
 */

/** Java 11: class files up to version 55; DynamoDB Local's are 61 (Java 17). */
export const JAVA_11 = `#!/bin/sh
if [ "$1" = "-version" ]; then
  echo 'openjdk version "11.0.22" 2024-01-16' >&2
  echo 'OpenJDK Runtime Environment (build 11.0.22+7-post-Debian-1deb10u1)' >&2
  exit 0
fi
echo 'Error: LinkageError occurred while loading main class com.amazonaws.services.dynamodbv2.local.main.ServerRunner' >&2
echo '	java.lang.UnsupportedClassVersionError: com/amazonaws/services/dynamodbv2/local/main/ServerRunner has been compiled by a more recent version of the Java Runtime (class file version 61.0), this version of the Java Runtime only recognizes class file versions up to 55.0' >&2
exit 1
`;

/** Java 8, whose banner says `1.8.0`. */
export const JAVA_8 = `#!/bin/sh
echo 'java version "1.8.0_392"' >&2
echo 'Java(TM) SE Runtime Environment (build 1.8.0_392-b08)' >&2
exit 0
`;
