#!/usr/bin/env node
import { App, Aspects, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AzureToAwsStack } from '../lib/azure-to-aws-stack';
import { brokerConfigFromContext } from '../lib/broker-context';
import { BrokerStack } from '../lib/broker-stack';
import { GitHubActionsStack } from '../lib/github-actions-stack';
import { reverseDirectionFromContext } from '../lib/reverse-direction-context';
import { controlTowerValidator } from '../lib/control-tower-validator';
import { StrictNagLogger } from '../lib/strict-nag-logger';

const app = new App();
new BrokerStack(app, 'AwsAzureTokenBroker', { config: brokerConfigFromContext(app) });
// The reverse direction (optional context keys): one stack each, deployed once per account (docs/reverse-direction.md).
const reverse = reverseDirectionFromContext(app);
if (reverse.azureToAws) new AzureToAwsStack(app, 'AwsAzureTokenBroker-AzureToAws', { config: reverse.azureToAws });
if (reverse.githubActions) new GitHubActionsStack(app, 'AwsAzureTokenBroker-GitHubActions', { config: reverse.githubActions });
// Every AwsSolutions finding fails synth unless fixed or suppressed with a reason (lib/strict-nag-logger.ts).
Aspects.of(app).add(new AwsSolutionsChecks({ reports: true, verbose: true, additionalLoggers: [new StrictNagLogger()] }));
// A second, independent rule set: AWS Control Tower's proactive controls (cfn-guard). An unacknowledged finding
// fails synth too (lib/control-tower-rules.ts).
Validations.of(app).addPlugins(controlTowerValidator());
