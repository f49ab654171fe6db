/**
 * The `kms` signer's part of a TokenBroker: the broker is the OIDC issuer. Its signing key (RSA_2048, RS256 only,
 * `kms:Sign` for the token function's role alone), the keys its JWKS publishes, the discovery and JWKS functions,
 * and their public routes with their own throttles.
 *
 * A plain class, not a construct: its resources live directly in the broker's scope, so their logical ids (the
 * signing key's above all, which Entra trusts) are those every earlier deployment had.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { HttpMethod, type CfnStage, type HttpApi, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { KMS_SIGNING_ALGORITHM } from '../contract/aws-names';
import type { DeploymentSettings } from '../contract/broker-config';
import { BROKER_ENV } from '../contract/environment';
import { createBrokerFunction } from './broker-function';
import { acknowledgeControl } from './control-tower-rules';
import { denyGrantsExceptForAwsServices } from './key-policies';

/** Discovery and JWKS do one KMS call at most (JWKS, cached); 5 s is ample. */
export const PUBLIC_FUNCTION_TIMEOUT = Duration.seconds(5);

/** The unauthenticated routes Entra reads; the monitoring counts their errors. */
export const PUBLIC_ROUTE_KEYS = ['GET /.well-known/openid-configuration', 'GET /jwks'] as const;

export interface KmsIssuerProps {
  /** The issuer URL: in the discovery document and the assertions' `iss`. */
  readonly issuerUrl: string;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly deployment: DeploymentSettings;
  readonly retention: logs.RetentionDays;
  readonly loggingEnvironment: Record<string, string>;
  /** @default - a new RSA_2048 SIGN_VERIFY key, retained on stack deletion, whose policy this class writes */
  readonly signingKey?: kms.IKey;
  /** @default - only the signing key is published */
  readonly publishedKeys?: readonly kms.IKey[];
}

export class KmsIssuer {
  readonly signingKey: kms.IKey;
  /** Every key in the JWKS, the signing key first. */
  readonly publishedKeys: readonly kms.IKey[];
  readonly discoveryFunction: NodejsFunction;
  readonly jwksFunction: NodejsFunction;
  /** The discovery and JWKS routes, once `addPublicRoutes` ran. */
  readonly publicRoutes: HttpRoute[] = [];
  /** The key this class created (and may therefore restrict), if it did. */
  private readonly ownSigningKey: kms.Key | undefined;

  constructor(
    private readonly broker: Construct,
    private readonly props: KmsIssuerProps,
  ) {
    this.ownSigningKey = props.signingKey === undefined ? this.createSigningKey() : undefined;
    this.signingKey = props.signingKey ?? (this.ownSigningKey as kms.Key);
    this.publishedKeys = [this.signingKey, ...(props.publishedKeys ?? [])];
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
      environment: { [BROKER_ENV.publishedKeyArns]: this.publishedKeys.map((key) => key.keyArn).join(',') },
    });
    for (const key of this.publishedKeys) key.grant(this.jwksFunction, 'kms:GetPublicKey');
  }

  /** What the token function needs to sign: the issuer and the active key. */
  tokenEnvironment(): Record<string, string> {
    return { [BROKER_ENV.issuer]: this.props.issuerUrl, [BROKER_ENV.signingKeyArn]: this.signingKey.keyArn };
  }

  /**
   * Lets the token function sign with the active key, RS256 only, and read its public half (the kid is its
   * thumbprint); on a key this class created, denies `kms:Sign` to every other principal.
   */
  grantSigning(tokenFunction: NodejsFunction, tokenRole: iam.IRole): void {
    // key.grant takes no condition, hence Grant.addToPrincipal.
    iam.Grant.addToPrincipal({
      grantee: tokenFunction,
      actions: ['kms:Sign'],
      resourceArns: [this.signingKey.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
    });
    this.signingKey.grant(tokenFunction, 'kms:GetPublicKey');
    if (this.ownSigningKey) this.restrictSigningKey(this.ownSigningKey, tokenRole);
  }

  /** The anonymous routes Entra reads, with their own throttles; returns them. */
  addPublicRoutes(): HttpRoute[] {
    const { httpApi } = this.props;
    this.publicRoutes.push(
      ...httpApi.addRoutes({
        path: '/.well-known/openid-configuration',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('DiscoveryIntegration', this.discoveryFunction),
      }),
      ...httpApi.addRoutes({
        path: '/jwks',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('JwksIntegration', this.jwksFunction),
      }),
    );
    const anonymousByDesign =
      'Entra ID fetches the OpenID Connect discovery document and the JWKS anonymously to verify client assertions; both hold only the issuer URL and public keys.';
    for (const route of this.publicRoutes) {
      NagSuppressions.addResourceSuppressions(route, [{ id: 'AwsSolutions-APIG4', reason: anonymousByDesign }]); // the route itself only, not its integration or invoke permission
      acknowledgeControl(route, 'CT.APIGATEWAY.PR.5', anonymousByDesign);
    }
    this.throttlePublicRoutes();
    return this.publicRoutes;
  }

  private createSigningKey(): kms.Key {
    const key = new kms.Key(this.broker, 'SigningKey', {
      description: 'Token broker: signs client assertions for Entra ID workload identity federation (RS256)',
      keySpec: kms.KeySpec.RSA_2048,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Entra trusts this key's public half; losing it breaks federation until a new one is published.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Holds for every principal whatever their IAM policies allow: this key produces RS256 signatures only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenySignWithOtherAlgorithms',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { StringNotEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
      }),
    );
    key.addToResourcePolicy(denyGrantsExceptForAwsServices());
    return key;
  }

  /**
   * Denies `kms:Sign` to every principal but the token function's role: an IAM policy allowing `kms:Sign` on `*`
   * (administrators, power users, CI roles) no longer mints assertions. The account keeps administering the key
   * (the default statement stays); only changing this key policy undoes it, and that is a CloudTrail event.
   */
  private restrictSigningKey(key: kms.Key, tokenRole: iam.IRole): void {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenySignToAllButTheTokenFunction',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': tokenRole.roleArn } },
      }),
    );
  }

  /**
   * Route-level throttles for the public routes, replacing the stage's default for them: anonymous traffic there is
   * bounded on its own, so it cannot use up the rate the token routes and Entra's key fetches need, nor turn into
   * Lambda concurrency the token function needs. HTTP APIs take route settings only on the stage resource.
   */
  private throttlePublicRoutes(): void {
    const { publicThrottlingRateLimit, publicThrottlingBurstLimit } = this.props.deployment;
    const cfnStage = this.props.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      PUBLIC_ROUTE_KEYS.map((routeKey) => [
        routeKey,
        { ThrottlingRateLimit: publicThrottlingRateLimit, ThrottlingBurstLimit: publicThrottlingBurstLimit },
      ]),
    );
    // API Gateway refuses settings for a route key that does not exist yet.
    for (const route of this.publicRoutes) cfnStage.node.addDependency(route);
  }
}
