/**
 * The `kms` signer's part of a TokenBroker: the broker is the OIDC issuer. Its signing key (RSA_2048, RS256 only,
 * `kms:Sign` for the token function's role alone), the keys its JWKS publishes, the discovery and JWKS functions and
 * their public routes with their own throttles, the key rotator on its schedule, and the HMAC key that authenticates
 * the rotation state (only the rotator makes MACs with it; the token and JWKS functions verify every state they read).
 *
 * A plain class, not a construct: its resources live directly in the broker's scope, so their logical ids (the
 * signing key's above all, which Entra trusts) are those every earlier deployment had. Built in one go, with the token
 * function's role it grants to: every field is set once, in the constructor.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { HttpMethod, type CfnStage, type HttpApi, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from './nag-suppressions';
import type { Construct } from 'constructs';
import { KEY_ROTATION_ITEM, KMS_SIGNING_ALGORITHM, ROTATED_KEY_TAG, ROTATION_STATE_MAC_ALGORITHM } from '../contract/aws-names';
import type { DeploymentSettings } from '../contract/broker-config';
import { BROKER_ENV } from '../contract/environment';
import { DISCOVERY_PATH, JWKS_PATH, PUBLIC_ROUTE_KEYS } from '../contract/http-api';
import { createBrokerFunction } from './broker-function';
import { acknowledgeControl } from './control-tower-rules';
import {
  denyGrantsExceptForAwsServices,
  denyKeyActionsToAllBut,
  denySignToAllBut,
  denySignWithOtherAlgorithms,
  signingKeyPolicy,
} from './key-policies';

/** Discovery and JWKS do one KMS call at most (JWKS, cached); 5 s is ample. */
export const PUBLIC_FUNCTION_TIMEOUT = Duration.seconds(5);

/** How often the rotator runs: activations and removals happen at most this late (the schedule's own times are exact). */
export const KEY_ROTATION_SCHEDULE = Duration.minutes(15);

/** The unauthenticated routes Entra reads; the monitoring counts their errors. */
export { PUBLIC_ROUTE_KEYS };

export interface KmsIssuerProps {
  /** The issuer URL: in the discovery document and the assertions' `iss`. */
  readonly issuerUrl: string;
  /** `config.subject`: the assertions' `sub`. */
  readonly subject: string;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly deployment: DeploymentSettings;
  readonly retention: logs.RetentionDays;
  readonly loggingEnvironment: Record<string, string>;
  /** The table that holds the rotation state item (the token cache table). */
  readonly table: dynamodb.ITable;
  /** The deployment's name: the tag value of its rotated keys, the metrics' `Deployment` dimension. */
  readonly deploymentName: string;
  /** The token function's role: the only principal that may sign, with the stack's key and the rotated ones. */
  readonly tokenRole: iam.IRole;
  /** @default - a new RSA_2048 SIGN_VERIFY key, retained on stack deletion, whose policy this class writes */
  readonly signingKey?: kms.IKey;
  /** @default - only the signing key is published */
  readonly publishedKeys?: readonly kms.IKey[];
}

export class KmsIssuer {
  /** Tells the signers apart in `TokenBroker.signer`. */
  readonly kind = 'kms';
  /** The issuer URL: the API's base URL or the `issuer` prop. */
  readonly issuerUrl: string;
  /** `config.subject`. */
  readonly assertionSubject: string;
  /** The first key of the rotation: the stack's own key, or the `signingKey` prop. */
  readonly signingKey: kms.IKey;
  /** Every key in the JWKS until the rotation state exists, the signing key first. */
  readonly publishedKeys: readonly kms.IKey[];
  readonly discoveryFunction: NodejsFunction;
  readonly jwksFunction: NodejsFunction;
  /**
   * Creates, publishes, activates, retires and deletes the signing keys on a schedule (docs/key-rotation.md). It may
   * create only RSA_2048 SIGN_VERIFY keys tagged with this deployment, with the signing-key policy (only the token role
   * signs), read their public halves and schedule their deletion; it never signs.
   */
  readonly keyRotatorFunction: NodejsFunction;
  /** The policy every rotated key gets: the same statements as the stack's own key's. */
  readonly rotatedKeyPolicy: iam.PolicyDocument;
  /**
   * The HMAC_256 key whose MAC authenticates the rotation state item (`KEY_ROTATION_ITEM.macAttribute`). Its policy
   * denies `kms:GenerateMac` to every principal but the key rotator's role, so a state item written around the rotator
   * never verifies: the JWKS publishes, and the token function signs with, only keys the rotator made.
   */
  readonly rotationStateKey: kms.IKey;
  /** The discovery and JWKS routes, anonymous, with their own throttles. */
  readonly publicRoutes: readonly HttpRoute[];
  /** What the token function needs to sign: the issuer, the stack's key (until the rotation adopts it), the schedule. */
  readonly tokenEnvironment: Readonly<Record<string, string>>;

  constructor(
    private readonly broker: Construct,
    private readonly props: KmsIssuerProps,
  ) {
    this.issuerUrl = props.issuerUrl;
    this.assertionSubject = props.subject;
    this.signingKey = props.signingKey ?? this.createSigningKey(props.tokenRole);
    this.publishedKeys = [this.signingKey, ...(props.publishedKeys ?? [])];
    const rotationStateKey = this.createRotationStateKey();
    this.rotationStateKey = rotationStateKey;
    this.tokenEnvironment = {
      [BROKER_ENV.issuer]: props.issuerUrl,
      [BROKER_ENV.signingKeyArn]: this.signingKey.keyArn,
      [BROKER_ENV.keyRotation]: this.keyRotationJson(),
      [BROKER_ENV.rotationStateKeyArn]: rotationStateKey.keyArn,
    };
    this.discoveryFunction = createBrokerFunction(broker, 'DiscoveryFunction', {
      entry: 'discovery.ts',
      description: 'Token broker: OpenID Connect discovery document',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention: props.retention,
      loggingEnvironment: props.loggingEnvironment,
      environment: { [BROKER_ENV.issuer]: props.issuerUrl },
    });
    this.jwksFunction = createBrokerFunction(broker, 'JwksFunction', {
      entry: 'jwks.ts',
      description: 'Token broker: JWKS of the published KMS keys',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention: props.retention,
      loggingEnvironment: props.loggingEnvironment,
      environment: {
        // Served until the rotation state exists (the rotator's first run adopts the signing key), then the state's keys.
        [BROKER_ENV.publishedKeyArns]: this.publishedKeys.map((key) => key.keyArn).join(','),
        [BROKER_ENV.tableName]: props.table.tableName,
        [BROKER_ENV.keyRotation]: this.keyRotationJson(),
        [BROKER_ENV.rotationStateKeyArn]: rotationStateKey.keyArn,
        // It counts the states it refuses (RotationStateRejected).
        [BROKER_ENV.deployment]: props.deploymentName,
      },
    });
    for (const key of this.publishedKeys) key.grant(this.jwksFunction, 'kms:GetPublicKey');
    this.grantReadRotationState(this.jwksFunction);
    this.grantSigning(props.tokenRole);
    // The token function reads the state with its own GetItem on the table; it verifies what it reads.
    this.grantVerifyRotationState(props.tokenRole);

    this.rotatedKeyPolicy = signingKeyPolicy(props.tokenRole);
    this.keyRotatorFunction = this.createKeyRotator();
    // Only the rotator's MACs: whoever else writes a state, even one that names keys of their own, cannot make it verify.
    rotationStateKey.addToResourcePolicy(
      denyKeyActionsToAllBut('DenyGenerateMacToAllButTheKeyRotator', ['kms:GenerateMac'], this.keyRotatorFunction.role as iam.IRole),
    );
    this.publicRoutes = this.addPublicRoutes();
  }

  /** Reads the rotation state item, and no other item of the table, and verifies its MAC. */
  grantReadRotationState(grantee: iam.IGrantable): iam.Grant {
    this.grantVerifyRotationState(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.props.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [KEY_ROTATION_ITEM.partitionKey] } },
    });
  }

  /** `kms:VerifyMac` with the rotation state key, HMAC_SHA_256 only: checks a state, never makes one. */
  grantVerifyRotationState(grantee: iam.IGrantable): iam.Grant {
    return this.grantRotationStateMac(grantee, ['kms:VerifyMac']);
  }

  private grantRotationStateMac(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    // key.grant takes no condition, hence Grant.addToPrincipal.
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.rotationStateKey.keyArn],
      conditions: { StringEquals: { 'kms:MacAlgorithm': ROTATION_STATE_MAC_ALGORITHM } },
    });
  }

  /**
   * The HMAC key of the rotation state. Destroyed with the stack (after KMS's 30-day waiting period, in which the
   * deletion can be cancelled): it authenticates one item of the stack's table and nothing else, a new deployment makes
   * a new one, and a retained MAC key outliving its rotator would only be one more key that could vouch for a state.
   * Without it no state verifies: an existing state is then refused until `broker-keys rotate --emergency` writes one
   * under the new key.
   */
  private createRotationStateKey(): kms.Key {
    const key = new kms.Key(this.broker, 'RotationStateKey', {
      description: 'Token broker: authenticates the signing-key rotation state (HMAC-SHA-256, MACs by the key rotator only)',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(denyGrantsExceptForAwsServices());
    return key;
  }

  /**
   * A new key whose policy lets the account administer it, RS256 only, no grants, and `kms:Sign` for the token role
   * alone: the same statements, in the same order, as every rotated key's (lib/key-policies.ts `signingKeyPolicy`).
   */
  private createSigningKey(tokenRole: iam.IRole): kms.Key {
    const key = new kms.Key(this.broker, 'SigningKey', {
      description: 'Token broker: signs client assertions for Entra ID workload identity federation (RS256)',
      keySpec: kms.KeySpec.RSA_2048,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Entra trusts this key's public half; losing it breaks federation until a new one is published.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    key.addToResourcePolicy(denySignWithOtherAlgorithms());
    key.addToResourcePolicy(denyGrantsExceptForAwsServices());
    key.addToResourcePolicy(denySignToAllBut(tokenRole));
    return key;
  }

  /**
   * Lets the token role sign with the stack's key and this deployment's rotated keys, RS256 only, and read the stack
   * key's public half (the kid is its thumbprint).
   */
  private grantSigning(tokenRole: iam.IRole): void {
    // key.grant takes no condition, hence Grant.addToPrincipal.
    iam.Grant.addToPrincipal({
      grantee: tokenRole,
      actions: ['kms:Sign'],
      resourceArns: [this.signingKey.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
    });
    this.signingKey.grant(tokenRole, 'kms:GetPublicKey');
    // The rotated keys: any key of this account tagged with this deployment, RS256 only. Their key policies deny
    // every other principal; the tag keeps this role off other deployments' keys.
    iam.Grant.addToPrincipal({
      grantee: tokenRole,
      actions: ['kms:Sign'],
      resourceArns: [this.anyKeyArn()],
      conditions: {
        StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM, [`aws:ResourceTag/${ROTATED_KEY_TAG}`]: this.props.deploymentName },
      },
    });
    NagSuppressions.addResourceSuppressions(
      tokenRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "kms:Sign on the rotated keys, which the rotator creates at run time: only keys of this account tagged with this deployment (aws:ResourceTag), RS256 only; each key's policy also denies Sign to every other principal.",
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key\\/\\*$/' }],
        },
      ],
      true,
    );
  }

  /**
   * The rotator and its schedule (lambda/core/key-rotation-plan.ts): it writes the rotation state item, with the MAC
   * only it may make, and the keys the state names.
   */
  private createKeyRotator(): NodejsFunction {
    const { broker, props } = this;
    const rotator = createBrokerFunction(broker, 'KeyRotatorFunction', {
      entry: 'rotator.ts',
      description: 'Token broker: rotates the signing keys (publish ahead, activate, retire, delete)',
      memorySize: 256,
      timeout: Duration.minutes(1),
      retention: props.retention,
      loggingEnvironment: props.loggingEnvironment,
      environment: {
        [BROKER_ENV.deployment]: props.deploymentName,
        [BROKER_ENV.tableName]: props.table.tableName,
        [BROKER_ENV.keyRotation]: this.keyRotationJson(),
        [BROKER_ENV.signingKeyArn]: this.signingKey.keyArn,
        [BROKER_ENV.signingKeyPolicy]: Stack.of(broker).toJsonString(this.rotatedKeyPolicy.toJSON()),
        [BROKER_ENV.rotationStateKeyArn]: this.rotationStateKey.keyArn,
      },
    });
    this.grantRotationStateMac(rotator, ['kms:GenerateMac', 'kms:VerifyMac']);
    iam.Grant.addToPrincipal({
      grantee: rotator,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [KEY_ROTATION_ITEM.partitionKey] } },
    });
    const tagged = { [`aws:RequestTag/${ROTATED_KEY_TAG}`]: props.deploymentName };
    // CreateKey has no key ARN yet: the resource is `*`, and the conditions say what may be created: key material KMS
    // makes (no imported or external material a copy of which lives elsewhere), in this Region only (no multi-Region
    // key whose replicas other Regions' policies govern). Condition keys: KMS Developer Guide, "AWS KMS condition keys"
    // (kms:KeyOrigin, kms:MultiRegion, both evaluated on CreateKey requests, defaults included).
    iam.Grant.addToPrincipal({
      grantee: rotator,
      actions: ['kms:CreateKey'],
      resourceArns: ['*'],
      conditions: {
        StringEquals: { ...tagged, 'kms:KeySpec': 'RSA_2048', 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:KeyOrigin': 'AWS_KMS' },
        Bool: { 'kms:MultiRegion': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATED_KEY_TAG] },
      },
    });
    // CreateKey with Tags needs TagResource too; only this deployment's tag.
    iam.Grant.addToPrincipal({
      grantee: rotator,
      actions: ['kms:TagResource'],
      resourceArns: ['*'],
      conditions: { StringEquals: tagged, 'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATED_KEY_TAG] } },
    });
    iam.Grant.addToPrincipal({
      grantee: rotator,
      actions: ['kms:GetPublicKey', 'kms:ScheduleKeyDeletion'],
      resourceArns: [this.anyKeyArn()],
      conditions: { StringEquals: { [`aws:ResourceTag/${ROTATED_KEY_TAG}`]: props.deploymentName } },
    });
    // The stack's key becomes the first key of the rotation (adopted, never deleted by the rotator).
    this.signingKey.grant(rotator, 'kms:GetPublicKey');
    NagSuppressions.addResourceSuppressions(
      rotator.role as iam.Role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'kms:CreateKey and kms:TagResource name no key (it does not exist yet): conditions allow only single-Region RSA_2048 SIGN_VERIFY keys with KMS-made material, tagged with this deployment. GetPublicKey and ScheduleKeyDeletion apply to keys of this account tagged with this deployment only (aws:ResourceTag).',
          appliesTo: ['Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key\\/\\*$/' }],
        },
      ],
      true,
    );

    new events.Rule(broker, 'KeyRotationSchedule', {
      description: 'Token broker: runs the key rotator',
      schedule: events.Schedule.rate(KEY_ROTATION_SCHEDULE),
      targets: [new targets.LambdaFunction(rotator, { retryAttempts: 2 })],
    });
    return rotator;
  }

  /** The anonymous routes Entra reads, with their own throttles. */
  private addPublicRoutes(): HttpRoute[] {
    const { httpApi } = this.props;
    const routes = [
      ...httpApi.addRoutes({
        path: DISCOVERY_PATH,
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('DiscoveryIntegration', this.discoveryFunction),
      }),
      ...httpApi.addRoutes({
        path: JWKS_PATH,
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('JwksIntegration', this.jwksFunction),
      }),
    ];
    const anonymousByDesign =
      'Entra ID fetches the OpenID Connect discovery document and the JWKS anonymously to verify client assertions; both hold only the issuer URL and public keys.';
    for (const route of routes) {
      NagSuppressions.addResourceSuppressions(route, [{ id: 'AwsSolutions-APIG4', reason: anonymousByDesign }]); // the route itself only, not its integration or invoke permission
      acknowledgeControl(route, 'CT.APIGATEWAY.PR.5', anonymousByDesign);
    }
    this.throttlePublicRoutes(routes);
    return routes;
  }

  /** `arn:…:kms:{region}:{account}:key/*`: a key of this account and region, for tag-conditioned statements. */
  private anyKeyArn(): string {
    return Stack.of(this.broker).formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  }

  private keyRotationJson(): string {
    return JSON.stringify(this.props.deployment.keyRotation);
  }

  /**
   * Route-level throttles for the public routes, replacing the stage's default for them: anonymous traffic there is
   * bounded on its own, so it cannot use up the rate the token routes and Entra's key fetches need, nor turn into
   * Lambda concurrency the token function needs. HTTP APIs take route settings only on the stage resource.
   */
  private throttlePublicRoutes(routes: readonly HttpRoute[]): void {
    const { publicThrottlingRateLimit, publicThrottlingBurstLimit } = this.props.deployment;
    const cfnStage = this.props.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      PUBLIC_ROUTE_KEYS.map((routeKey) => [
        routeKey,
        { ThrottlingRateLimit: publicThrottlingRateLimit, ThrottlingBurstLimit: publicThrottlingBurstLimit },
      ]),
    );
    // API Gateway refuses settings for a route key that does not exist yet.
    for (const route of routes) cfnStage.node.addDependency(route);
  }
}
