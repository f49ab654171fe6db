/** `npm run bench -- --only cold-start`: every Lambda entry, bundled as deployed, loads with the variables the construct sets. */
import { describe, expect, it } from 'vitest';
import { measureColdStart } from '../../../local/bench/cold-start';

describe('bench cold-start', () => {
  it('bundles and loads every entry both ways (an entry that needs a variable the bench does not set fails here)', async () => {
    const figures = await measureColdStart(1);
    const loaded = figures.filter((f) => f.entry !== 'empty').map((f) => `${f.entry} (${f.variant})`);
    expect(loaded.sort()).toEqual(
      ['discovery', 'jwks', 'rotator', 'token'].flatMap((entry) => [`${entry} (sdk bundled)`, `${entry} (sdk from runtime)`]).sort(),
    );
    for (const figure of figures) expect(figure.loadMedianMs).toBeGreaterThan(0);
  }, 180_000);
});
