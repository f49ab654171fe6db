/**
 * What an AWS region name looks like. The region ends up in host names (`sts.{region}.amazonaws.com`) and in
 * SigV4 credential scopes, so anything else (a host, a path, a `#`) is refused before it can steer a signed
 * request elsewhere.
 */

/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`, … */
export const AWS_REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
