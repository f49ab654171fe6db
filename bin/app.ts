#!/usr/bin/env node
import { App, Aspects, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppContextError, readAppContext, type AppContext } from '../lib/app-context';
import { AzureToAwsStack } from '../lib/azure-to-aws-stack';
import { BrokerStack } from '../lib/broker-stack';
import { GitHubActionsStack } from '../lib/github-actions-stack';
import { controlTowerValidator } from '../lib/control-tower-validator';
import { StrictNagLogger } from '../lib/strict-nag-logger';

const app = new App();

// Every context key is validated before any stack is built (nothing bundled yet); a mistake is printed alone, without
// a stack trace, and synth exits non-zero.
let context: AppContext;
try {
  context = readAppContext(app);
} catch (error) {
  if (!(error instanceof AppContextError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

new BrokerStack(app, 'AwsAzureTokenBroker', { config: context.broker });
// The reverse direction (optional context keys): one stack each, deployed once per account (docs/reverse-direction.md).
if (context.azureToAws) new AzureToAwsStack(app, 'AwsAzureTokenBroker-AzureToAws', { config: context.azureToAws });
if (context.githubActions) new GitHubActionsStack(app, 'AwsAzureTokenBroker-GitHubActions', { config: context.githubActions });
// Every AwsSolutions finding fails synth unless fixed or suppressed with a reason (lib/strict-nag-logger.ts).
Aspects.of(app).add(new AwsSolutionsChecks({ reports: true, verbose: true, additionalLoggers: [new StrictNagLogger()] }));
// A second, independent rule set: AWS Control Tower's proactive controls (cfn-guard). An unacknowledged finding
// fails synth too (lib/control-tower-rules.ts).
Validations.of(app).addPlugins(controlTowerValidator());
