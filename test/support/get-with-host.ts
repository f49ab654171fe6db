import { request } from 'node:http';

/**
 * A GET with exactly this Host header, as a browser sends it after DNS rebinding `attacker.example` to 127.0.0.1
 * (fetch would set Host from the URL).
 */
export function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
