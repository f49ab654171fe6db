/**
 * The `aws-sts` signer's part of a TokenBroker: AWS STS outbound identity federation signs the client assertions
 * (`sts:GetWebIdentityToken`), AWS hosts the issuer and rotates its keys, and the token function's role ARN is the
 * assertions' `sub`. No key, no discovery or JWKS function, no public route.
 *
 * What it creates: a custom resource that enables outbound identity federation for the account (IAM
 * `EnableOutboundWebIdentityFederation`; never disabled on delete) and one that reads the account's issuer URL
 * (`GetOutboundWebIdentityFederationInfo`), and the grant that lets the token function ask STS for assertions for
 * the configured audience only, RS256 only, no longer-lived than configured.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from './nag-suppressions';
import { Construct } from 'constructs';
import { STS_SIGNING_ALGORITHM } from '../contract/aws-names';
import { BROKER_ENV } from '../contract/environment';
import { LOGS_HOLD_NO_SECRET } from './broker-function';
import { acknowledgeControl } from './control-tower-rules';

/**
 * The logical id CDK gives the one Lambda function behind every AwsCustomResource of a stack (a singleton at the
 * stack's root), from aws-cdk-lib/custom-resources' `AwsCustomResource`.
 */
const AWS_CUSTOM_RESOURCE_FUNCTION_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * IAM answers `EnableOutboundWebIdentityFederation` with 409 `FeatureEnabled` when the account has it on already
 * (IAM API reference, EnableOutboundWebIdentityFederation, "Errors"); the SDK v3 names that error
 * `FeatureEnabledException`. Either means the desired state holds.
 */
export const FEATURE_ENABLED_ERROR = '^FeatureEnabled(Exception)?$';

export interface StsSignerProps {
  /** The `aud` the assertions carry (`config.audience`): the only audience the token function may ask STS for. */
  readonly audience: string;
  /** `config.assertionLifetimeSeconds`: the `DurationSeconds` the token function asks for, and the grant's ceiling. */
  readonly assertionLifetimeSeconds: number;
  readonly retention: logs.RetentionDays;
  /** The token function's role: the one principal allowed to ask STS for assertions, and their `sub`. */
  readonly tokenRole: iam.IRole;
}

export class StsSigner extends Construct {
  /** Tells the signers apart in `TokenBroker.signer`. */
  readonly kind = 'aws-sts';
  /** The account's outbound identity federation issuer, `https://{id}.tokens.sts.global.api.aws` (a deploy-time value). */
  readonly issuerUrl: string;
  /**
   * The token function's role ARN, which STS puts in `sub`. Entra compares it as a string: the role's name must never
   * come back on another role, so it is CloudFormation's generated one (a unique physical id), never a fixed name.
   */
  readonly assertionSubject: string;
  /**
   * What the token function needs to ask STS: the issuer (for the hints of Entra's refusals) and its own role ARN, which
   * it cannot read from its environment otherwise.
   */
  readonly tokenEnvironment: Readonly<Record<string, string>>;
  /** Enables outbound identity federation for the account (idempotent; nothing happens on delete). */
  readonly enableFederation: AwsCustomResource;
  /** Reads the issuer URL once federation is enabled. */
  readonly federationInfo: AwsCustomResource;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: StsSignerProps,
  ) {
    super(scope, id);
    // Both calls run in the stack's one AwsCustomResource function; its log group is created here, with the
    // broker's retention, instead of the implicit /aws/lambda/... group with no retention.
    const logGroup = new logs.LogGroup(this, 'CustomResourceLogs', { retention: props.retention });
    acknowledgeControl(logGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
    // These IAM actions act on the account's setting and have no resource type: `Resource: *` is the only form.
    this.enableFederation = new AwsCustomResource(this, 'EnableOutboundFederation', {
      resourceType: 'Custom::OutboundWebIdentityFederation',
      // The account-wide setting is switched on and left on: other workloads of the account may call
      // GetWebIdentityToken too, and turning it off would break them (docs/signers.md). No onDelete on purpose.
      onCreate: {
        service: 'IAM',
        action: 'EnableOutboundWebIdentityFederation',
        physicalResourceId: PhysicalResourceId.of('outbound-web-identity-federation'),
        ignoreErrorCodesMatching: FEATURE_ENABLED_ERROR,
        // The answer holds only the issuer URL, which federationInfo reads either way.
        outputPaths: [],
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['iam:EnableOutboundWebIdentityFederation'], resources: ['*'] }),
      ]),
      logGroup,
      installLatestAwsSdk: false,
    });
    const readInfo = {
      service: 'IAM',
      action: 'GetOutboundWebIdentityFederationInfo',
      physicalResourceId: PhysicalResourceId.of('outbound-web-identity-federation-info'),
      outputPaths: ['IssuerIdentifier'],
    };
    this.federationInfo = new AwsCustomResource(this, 'OutboundFederationInfo', {
      resourceType: 'Custom::OutboundWebIdentityFederationInfo',
      onCreate: readInfo,
      onUpdate: readInfo,
      policy: AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['iam:GetOutboundWebIdentityFederationInfo'], resources: ['*'] }),
      ]),
      logGroup,
      installLatestAwsSdk: false,
    });
    this.federationInfo.node.addDependency(this.enableFederation);
    this.issuerUrl = this.federationInfo.getResponseField('IssuerIdentifier');

    const accountSetting =
      'IAM EnableOutboundWebIdentityFederation and GetOutboundWebIdentityFederationInfo act on an account-wide setting and have no resource type: the Service Authorization Reference lists no resource for them, so Resource "*" is the only form. Each policy holds that one action.';
    for (const resource of [this.enableFederation, this.federationInfo]) {
      NagSuppressions.addResourceSuppressions(
        resource,
        [{ id: 'AwsSolutions-IAM5', reason: accountSetting, appliesTo: ['Resource::*'] }],
        true,
      );
    }
    this.acknowledgeCustomResourceFunction();

    this.assertionSubject = props.tokenRole.roleArn;
    this.tokenEnvironment = { [BROKER_ENV.issuer]: this.issuerUrl, [BROKER_ENV.assertionSubject]: this.assertionSubject };
    this.grantGetWebIdentityToken(props.tokenRole);
    NagSuppressions.addResourceSuppressions(
      props.tokenRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'sts:GetWebIdentityToken has no resource type (Service Authorization Reference), so Resource "*" is its only form; the statement is bounded by its conditions instead: sts:IdentityTokenAudience = the configured audience, sts:SigningAlgorithm = RS256, sts:DurationSeconds <= assertionLifetimeSeconds.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }

  /**
   * Lets `grantee` call `sts:GetWebIdentityToken` for the configured audience only (every audience asked for must be
   * it, and one must be asked for), RS256 only, and for no longer than `assertionLifetimeSeconds`; no tags
   * (`sts:TagGetWebIdentityToken` is not granted). Condition keys: IAM User Guide, outbound identity federation,
   * "Controlling access with IAM policies" (`sts:IdentityTokenAudience`, `sts:SigningAlgorithm`, `sts:DurationSeconds`).
   * The token role has it already.
   */
  grantGetWebIdentityToken(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sts:GetWebIdentityToken'],
      resourceArns: ['*'],
      conditions: {
        // A multivalued key: ForAllValues alone would also hold for a request without any audience.
        'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': [this.props.audience] },
        Null: { 'sts:IdentityTokenAudience': 'false', 'sts:DurationSeconds': 'false' },
        StringEquals: { 'sts:SigningAlgorithm': STS_SIGNING_ALGORITHM },
        NumericLessThanEquals: { 'sts:DurationSeconds': this.props.assertionLifetimeSeconds },
      },
    });
  }

  /**
   * The stack's AwsCustomResource function sits at the stack's root, outside this construct: its findings are
   * acknowledged on it, once it exists.
   */
  private acknowledgeCustomResourceFunction(): void {
    const singleton = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_FUNCTION_ID);
    if (singleton === undefined) return;
    acknowledgeControl(
      singleton,
      'CT.LAMBDA.PR.3',
      'The AwsCustomResource function runs only at deploy time and calls only the IAM API; a VPC would add NAT gateways or interface endpoints for two calls per deployment.',
    );
    NagSuppressions.addResourceSuppressions(
      singleton,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            "CDK's AwsCustomResource function uses AWSLambdaBasicExecutionRole for its logs; it runs at deploy time only and holds no other managed policy.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      ],
      true,
    );
  }
}
