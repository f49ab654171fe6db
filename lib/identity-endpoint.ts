/**
 * `TokenBroker.addIdentityEndpoint(fn, { resources })`: the identity endpoint inside a Lambda function's execution
 * environment, so that the function's Azure SDK, in any language, gets this broker's tokens through
 * `DefaultAzureCredential` with no code change (docs/any-language.md, "In Lambda"). It adds:
 * - a Lambda extension layer for the function's architecture, one per stack and architecture, shared by every
 *   function that uses it. scripts/build-identity-layer.mjs assembles it at synth (the asset's local bundling): the
 *   extension and its launcher under `extensions/` (prebuilt in the package, bundled from source in this repository),
 *   and Node.js for the architecture from npm, so the runtime needs none;
 * - the function's environment: `IDENTITY_ENDPOINT` (127.0.0.1, a fixed port), `IDENTITY_HEADER`, `BROKER_URL` and
 *   `BROKER_IDENTITY_RESOURCES` (JSON resource → alias), which the SDK and the extension read;
 * - `execute-api:Invoke` for the function's role on exactly the mapped aliases' routes (`grantToken`).
 *
 * `IDENTITY_HEADER` comes from a Secrets Manager secret that CloudFormation generates once per stack (64 random
 * letters and digits) and resolves into the functions' environment at deploy. Why there: the value must be random
 * and unknown to the function's code paths, which the header guards against being tricked into a request to
 * 127.0.0.1 (SSRF: they cannot add the header); it must be stable across synths and deploys, or every deploy would
 * change every function's configuration; and it must stay out of the template, cdk.out and the repository. It is
 * not a credential: whoever can read the function's configuration or environment can also read its AWS credentials.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import type { BrokerConfig } from '../contract/broker-config';
import { ConfigError, describeValue } from '../contract/config-error';
import { IDENTITY_EXTENSION_DEFAULT_PORT, IDENTITY_EXTENSION_ENV, IDENTITY_EXTENSION_NAME } from '../contract/identity-endpoint-extension';
import { prebuiltAssetDir } from './lambda-bundling';
import { NagSuppressions } from './nag-suppressions';

export interface IdentityEndpointOptions {
  /**
   * Azure resource → broker alias, e.g. `{ 'https://storage.azure.com': 'storage' }`: the resources the function's
   * SDK asks for (a scope's resource: `https://storage.azure.com/.default` → `https://storage.azure.com`). Every alias
   * must be configured; the function may obtain tokens for these aliases and no other.
   */
  readonly resources: Readonly<Record<string, string>>;
  /**
   * The port on 127.0.0.1 the extension listens on (`IDENTITY_ENDPOINT`): from 1024 to 65535, not Lambda's 9001.
   * @default 41991
   */
  readonly port?: number;
}

/** What `addIdentityEndpoint` did to the function. */
export interface IdentityEndpointAttachment {
  /** The extension layer, shared by the stack's functions of the same architecture. */
  readonly layer: lambda.ILayerVersion;
  /** `IDENTITY_ENDPOINT`: `http://127.0.0.1:<port>/msi/token`. */
  readonly identityEndpoint: string;
  /** One per alias: `execute-api:Invoke` on its token route. */
  readonly grants: readonly iam.Grant[];
}

/** What `addIdentityEndpoint` needs of the broker: `TokenBroker` has it. */
export interface IdentityEndpointBroker extends IConstruct {
  readonly apiUrl: string;
  readonly config: BrokerConfig;
  grantToken(grantee: iam.IGrantable, alias: string): iam.Grant;
}

/** The layer's architectures: CDK's name → the Node.js build's (scripts/identity-layer-node.json). */
const LAYER_ARCHITECTURES = {
  arm64: { node: 'arm64', architecture: lambda.Architecture.ARM_64, id: 'Arm64' },
  x86_64: { node: 'x64', architecture: lambda.Architecture.X86_64, id: 'X8664' },
} as const;
type LayerArchitecture = (typeof LAYER_ARCHITECTURES)[keyof typeof LAYER_ARCHITECTURES];

/** Lambda's Runtime API listens on 127.0.0.1:9001 in every execution environment. */
const RUNTIME_API_PORT = 9001;

/** This repository, or the package's dist/ (from dist/lib/index.js): the build script is under scripts/ in both. */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUILD_SCRIPT = `${ROOT}scripts/build-identity-layer.mjs`;
/** The extension's sources, from which this repository builds the layer (absent from the package). */
const EXTENSION_SOURCE = `${ROOT}client/identity-endpoint/extension`;

const HEADER_SECRET_ID = 'BrokerIdentityEndpointHeader';

/** Functions that have the endpoint already: a second call would add a second copy of the layer. */
const attached = new WeakSet<lambda.Function>();

/**
 * Adds the identity endpoint to `fn` (see the module comment).
 * @throws ConfigError listing every problem: an alias that is not configured (with the configured ones), a resource
 *   that is not an `https://` or `api://` URI or an application id, a port out of range, an architecture or runtime the
 *   layer cannot run on (container images, runtimes on Amazon Linux 2 or older), a second call for the function
 */
export function addIdentityEndpoint(
  broker: IdentityEndpointBroker,
  fn: lambda.Function,
  options: IdentityEndpointOptions,
): IdentityEndpointAttachment {
  const problems: string[] = [];
  if (attached.has(fn)) problems.push('the function has the identity endpoint already: map every resource in one addIdentityEndpoint call');
  const aliases = resourceProblems(broker, options.resources, problems);
  const port = options.port ?? IDENTITY_EXTENSION_DEFAULT_PORT;
  if (Token.isUnresolved(port) || !Number.isInteger(port) || port < 1024 || port > 65_535 || port === RUNTIME_API_PORT) {
    problems.push(
      `port: expected an integer from 1024 to 65535 other than ${RUNTIME_API_PORT} (Lambda's Runtime API), got ${describeValue(port)}`,
    );
  }
  const architecture = LAYER_ARCHITECTURES[fn.architecture.name as keyof typeof LAYER_ARCHITECTURES] as LayerArchitecture | undefined;
  if (architecture === undefined) {
    problems.push(`the function's architecture ${JSON.stringify(fn.architecture.name)} is not one the layer is built for: arm64 or x86_64`);
  }
  const runtimeProblem = runtimeProblemOf(fn.runtime);
  if (runtimeProblem !== undefined) problems.push(runtimeProblem);
  if (problems.length > 0 || architecture === undefined) throw new ConfigError(`addIdentityEndpoint for ${fn.node.path}`, problems);

  const stack = Stack.of(fn);
  const layer = identityEndpointLayer(stack, architecture);
  fn.addLayers(layer);
  const identityEndpoint = `http://127.0.0.1:${port}/msi/token`;
  fn.addEnvironment(IDENTITY_EXTENSION_ENV.identityEndpoint, identityEndpoint);
  fn.addEnvironment(IDENTITY_EXTENSION_ENV.identityHeader, identityHeaderSecret(stack).secretValue.unsafeUnwrap());
  fn.addEnvironment(IDENTITY_EXTENSION_ENV.brokerUrl, broker.apiUrl);
  fn.addEnvironment(IDENTITY_EXTENSION_ENV.resources, JSON.stringify(options.resources));
  const grants = aliases.map((alias) => broker.grantToken(fn, alias));
  if (fn.role) {
    // grantToken names each route under any stage (`…/*/GET/token/<alias>`); the API has one stage, `$default`.
    NagSuppressions.addResourceSuppressions(
      fn.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "execute-api:Invoke on the identity endpoint's aliases only, one route each; the wildcard is the stage, and the broker's API has one",
          appliesTo: aliases.map((alias) => ({
            regex: `/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<[A-Za-z0-9]+>\\/\\*\\/GET\\/token\\/${alias}$/g`,
          })),
        },
      ],
      true,
    );
  }
  attached.add(fn);
  return { layer, identityEndpoint, grants };
}

/** Checks the resource map into `problems`; returns its aliases, each once, in order. */
function resourceProblems(broker: IdentityEndpointBroker, resources: Readonly<Record<string, string>>, problems: string[]): string[] {
  const configured = Object.keys(broker.config.runtime.scopes);
  const entries = typeof resources === 'object' && (resources as unknown) !== null ? Object.entries(resources) : [];
  if (entries.length === 0) {
    problems.push(
      `resources: map at least one Azure resource to an alias, e.g. { 'https://storage.azure.com': '${configured[0] ?? 'storage'}' }`,
    );
  }
  const aliasByKey = new Map<string, string>();
  const aliases: string[] = [];
  for (const [resource, alias] of entries) {
    const problem = resourceProblem(resource);
    if (problem !== undefined) problems.push(`resources: ${JSON.stringify(resource)} ${problem}`);
    if (typeof alias !== 'string' || Token.isUnresolved(alias) || !configured.includes(alias)) {
      problems.push(
        `resources: the alias ${describeValue(alias)} for ${resource} is not configured; configured aliases: ${configured.join(', ')}`,
      );
      continue;
    }
    // The extension matches resources with or without a trailing slash or `/.default` (client resource-map.ts).
    const key = resource.replace(/\/\.default$/, '').replace(/\/+$/, '');
    const previous = aliasByKey.get(key);
    if (previous !== undefined && previous !== alias)
      problems.push(`resources: ${resource} is mapped to both "${previous}" and "${alias}"`);
    aliasByKey.set(key, alias);
    if (!aliases.includes(alias)) aliases.push(alias);
  }
  return aliases;
}

const APPLICATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with an Azure resource identifier: an `https://` or `api://` URI, or a bare application id. */
function resourceProblem(resource: string): string | undefined {
  if (Token.isUnresolved(resource)) return 'is an unresolved token: the map must be known at synth';
  if (APPLICATION_ID.test(resource)) return undefined;
  if (resource.trim() !== resource || /\s/.test(resource)) return 'holds blanks';
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return 'is not a resource such as https://storage.azure.com, api://<app id> or an application id';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'api:') return 'must be an https:// or api:// URI (or an application id)';
  if (url.hostname === '') return 'has no host';
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return 'must not hold a user, a query or a fragment';
  }
  return undefined;
}

/**
 * Why the layer cannot run on `runtime`, if it cannot. Its Node.js 24 needs glibc 2.28 (libstdc++ too): Amazon
 * Linux 2023 runtimes have glibc 2.34; Amazon Linux 2 ones (nodejs18.x, python3.9–3.11, java8.al2–java17, dotnet6,
 * ruby3.2, provided.al2) have 2.26 (AWS Lambda developer guide, "Lambda runtimes", the OS of each runtime; java8, java11
 * and java17 also come as `.al2023` runtimes).
 */
function runtimeProblemOf(runtime: lambda.Runtime): string | undefined {
  if (runtime.name === lambda.Runtime.FROM_IMAGE.name) {
    return 'the function is a container image, which takes extensions in the image (under /opt/extensions), not as layers';
  }
  const { name } = runtime;
  // java8.al2023, java11.al2023, java17.al2023, provided.al2023: the OS is in the name.
  if (name.endsWith('.al2023')) return undefined;
  const version = (pattern: RegExp) => {
    const match = pattern.exec(name);
    return match ? Number(match[1]) : undefined;
  };
  const belowAl2023 =
    name === 'provided' ||
    name === 'provided.al2' ||
    name === 'go1.x' ||
    name.startsWith('dotnetcore') ||
    (version(/^nodejs(\d+)/) ?? 20) < 20 ||
    name === 'nodejs' ||
    name.startsWith('python2') ||
    (version(/^python3\.(\d+)/) ?? 12) < 12 ||
    (version(/^java(\d+)/) ?? 21) < 21 ||
    (version(/^dotnet(\d+)/) ?? 8) < 8 ||
    name.startsWith('ruby2') ||
    (version(/^ruby3\.(\d+)/) ?? 3) < 3;
  return belowAl2023
    ? `the runtime ${name} runs on Amazon Linux 2 or older (glibc 2.26), where the layer's Node.js 24 cannot run: use a runtime on Amazon Linux 2023 (nodejs20.x or later, python3.12 or later, java21 or later or javaNN.al2023, dotnet8 or later, ruby3.3 or later, provided.al2023)`
    : undefined;
}

/** The stack's layer for `architecture`, created on first use. */
function identityEndpointLayer(stack: Stack, architecture: LayerArchitecture): lambda.ILayerVersion {
  const id = `BrokerIdentityEndpointLayer${architecture.id}`;
  const existing = stack.node.tryFindChild(id) as lambda.LayerVersion | undefined;
  if (existing) return existing;
  return new lambda.LayerVersion(stack, id, {
    code: layerCode(architecture.node),
    compatibleArchitectures: [architecture.architecture],
    description: `Token broker identity endpoint: Lambda extension ${IDENTITY_EXTENSION_NAME} (Node.js 24, ${architecture.architecture.name}) serving Azure managed-identity tokens on 127.0.0.1`,
    license: 'Apache-2.0 AND MIT',
  });
}

/**
 * The layer's files, assembled at synth by scripts/build-identity-layer.mjs for `nodeArch`, hashed by their content (a
 * change to the extension or the pinned Node.js makes a new layer version; an unchanged build does not). From the
 * package, the extension is the prebuilt one it ships (`layers/identity-endpoint/`), and the app needs no esbuild;
 * from this repository's sources, it is bundled from source with the same esbuild settings, so both give the same
 * bytes. Either folder is the asset's source, which CDK requires to exist.
 */
function layerCode(nodeArch: string): lambda.Code {
  const prebuilt = prebuiltAssetDir('layers', 'identity-endpoint', `${IDENTITY_EXTENSION_NAME}/main.mjs`);
  const args = [BUILD_SCRIPT, '--arch', nodeArch, ...(prebuilt === undefined ? [] : ['--extension', prebuilt])];
  return lambda.Code.fromAsset(prebuilt ?? EXTENSION_SOURCE, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: the local build runs wherever synth runs (Node.js, npm and tar).
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      // Also tells the two architectures apart in CDK's cache of bundled assets (functions are not part of its key).
      environment: { IDENTITY_LAYER_ARCH: nodeArch },
      local: {
        tryBundle(outputDir) {
          const build = spawnSync(process.execPath, [...args, '--outdir', outputDir], {
            encoding: 'utf8',
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          // The script reports on stderr: its progress line, or what went wrong (a tarball npm could not get, one whose
          // sha512 is not the pinned one), which is the error synth shows.
          if (build.status !== 0) {
            const reason =
              build.error?.message ??
              (build.stderr.replaceAll('build-identity-layer: ', '').trim() || `exit ${String(build.status ?? build.signal)}`);
            throw new Error(`the identity endpoint's ${nodeArch} layer could not be built: ${reason}`);
          }
          process.stderr.write(build.stderr);
          return true;
        },
      },
    },
  });
}

/** The stack's generated `IDENTITY_HEADER` value (see the module comment), created on first use. */
function identityHeaderSecret(stack: Stack): secretsmanager.ISecret {
  const existing = stack.node.tryFindChild(HEADER_SECRET_ID) as secretsmanager.Secret | undefined;
  if (existing) return existing;
  const secret = new secretsmanager.Secret(stack, HEADER_SECRET_ID, {
    description:
      'Token broker identity endpoint: the IDENTITY_HEADER of the Lambda functions that run the identity endpoint extension, which requests to 127.0.0.1 must carry',
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    // Nothing depends on its value surviving: a new stack generates a new one and gives it to its functions.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  NagSuppressions.addResourceSuppressions(secret, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'Not a credential: a random value the functions send to their own loopback extension. It reaches the functions through their configuration at deploy, so rotating it would only mean a redeploy; whoever can read it can read the function role credentials too.',
    },
  ]);
  return secret;
}
