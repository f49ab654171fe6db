#!/usr/bin/env node
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { brokerConfigFromContext } from '../lib/broker-context';
import { BrokerStack } from '../lib/broker-stack';
import { StrictNagLogger } from '../lib/strict-nag-logger';

const app = new App();
new BrokerStack(app, 'AwsAzureTokenBroker', { config: brokerConfigFromContext(app) });
// Every AwsSolutions finding fails synth unless fixed or suppressed with a reason (lib/strict-nag-logger.ts).
Aspects.of(app).add(new AwsSolutionsChecks({ reports: true, verbose: true, additionalLoggers: [new StrictNagLogger()] }));
