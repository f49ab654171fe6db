#!/usr/bin/env node
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { brokerConfigFromContext } from '../lib/broker-context';
import { BrokerStack } from '../lib/broker-stack';

const app = new App();
new BrokerStack(app, 'AwsAzureTokenBroker', { config: brokerConfigFromContext(app) });
Aspects.of(app).add(new AwsSolutionsChecks({ reports: true, verbose: true }));
