import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_FIELDS, PUBLIC_ROUTE_KEYS, routeKey, TOKEN_CATCH_ALL_PATH } from '../../contract/http-api';
import { tokenUrl } from '../../client/sign-request';
import { discoveryDocument } from '../../lambda/core/discovery';
import { aliasOfRouteKey as aliasOf } from '../../lambda/handlers/token-request';
import { brokerStack, RAW_CONFIG } from './helpers';

// The wire shapes are defined once in contract/http-api.ts; these checks read the synthesized template, so a route
// renamed in one place only (a path in lib/, the jwks_uri of the discovery document, a metric filter, a client URL)
// fails here instead of breaking Entra's key fetch or an alarm in a deployment.
const { template } = brokerStack();
const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
  (route) => (route as { Properties: { RouteKey: string } }).Properties.RouteKey,
);

describe('the HTTP API as synthesized and as its users call it', () => {
  it("serves the JWKS at the path the discovery document's jwks_uri names (Entra follows it)", () => {
    const { jwks_uri } = discoveryDocument('https://broker.example');
    expect(routeKeys).toContain(routeKey(new URL(jwks_uri).pathname));
  });

  it('has a route for every URL the client builds, and the token function reads each alias back from its route key', () => {
    for (const alias of Object.keys(RAW_CONFIG.scopes)) {
      const key = routeKey(tokenUrl(new URL('https://api.example/'), alias).pathname);
      expect(routeKeys).toContain(key);
      expect(aliasOf(key)).toBe(alias);
    }
    expect(aliasOf(routeKey(TOKEN_CATCH_ALL_PATH))).toBeUndefined();
    expect(routeKeys).toContain(routeKey(TOKEN_CATCH_ALL_PATH));
  });

  it("counts the public routes' errors from route keys that exist, with fields the access log writes", () => {
    for (const key of PUBLIC_ROUTE_KEYS) expect(routeKeys).toContain(key);
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as {
      Properties: { AccessLogSettings: { Format: string } };
    }[];
    const logged = Object.keys(JSON.parse(stage?.Properties.AccessLogSettings.Format ?? '{}') as object);
    expect(logged).toEqual(Object.keys(ACCESS_LOG_FIELDS));

    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')) as {
      Properties: { FilterPattern: string; MetricTransformations: { Dimensions?: { Value: string }[] }[] };
    }[];
    expect(filters.length).toBeGreaterThan(0);
    for (const { Properties } of filters) {
      const pattern = Properties.FilterPattern;
      const routesNamed = [...pattern.matchAll(/\$\.routeKey = "([^"]+)"/g)].map((match) => match[1]);
      expect(routesNamed.length).toBeGreaterThan(0);
      for (const key of routesNamed) expect(routeKeys).toContain(key);
      const selectors = [
        ...pattern.matchAll(/\$\.(\w+)/g),
        ...Properties.MetricTransformations.flatMap((t) => (t.Dimensions ?? []).map((d) => /^\$\.(\w+)$/.exec(d.Value) ?? [])),
      ].map((match) => match[1]);
      for (const field of selectors) expect(logged).toContain(field);
    }
  });
});
