/**
 * The AWS SDK for JavaScript v3 warns once per process, in nine lines, that its releases after the first week of
 * January 2027 will need Node.js 22 (@aws-sdk/core, emitWarningIfUnsupportedVersion). Lambda runs Node.js 24, so in
 * the commands that run the SDK on this machine on purpose (npm start, broker-keys, the DynamoDB Local launcher, the
 * demo) it is noise a newcomer cannot judge. The SDK reads this variable; a value the user set is kept.
 */
export const AWS_SDK_NODE_WARNING_DISABLED = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** Turns the SDK's Node.js version warning off for this process and its children, unless the user set the variable. */
export function silenceAwsSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  env[AWS_SDK_NODE_WARNING_DISABLED] ??= 'true';
}
