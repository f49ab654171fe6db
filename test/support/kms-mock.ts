/**
 * A KMS client for tests: `aws-sdk-client-mock` on one KMSClient instance (no global prototype stub),
 * answering GetPublicKey and Sign from REAL node:crypto RSA keys, so signatures made "by KMS" verify.
 * Sign behaves like KMS with `MessageType: DIGEST`: it signs the 32-byte digest it receives
 * (RSASSA-PKCS1-v1_5 with the SHA-256 DigestInfo), and refuses anything but DIGEST + RSASSA_PKCS1_V1_5_SHA_256.
 *
 * Symmetric keys answer GenerateDataKey and Decrypt with REAL AES-256-GCM under a per-key master key, binding the
 * encryption context as additional data, as KMS does: Decrypt with another context, or a tampered blob, fails with
 * InvalidCiphertextException; Decrypt naming another key than the blob's fails with IncorrectKeyException
 * (docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html, "Errors").
 *
 * HMAC keys answer GenerateMac and VerifyMac with REAL HMAC-SHA-256 under a per-key random 256-bit key: a message of
 * 1 to 4096 bytes and `HMAC_SHA_256` only (ValidationException otherwise); VerifyMac with a MAC that does not match
 * fails with KMSInvalidMacException instead of answering `MacValid: false`; a non-HMAC key fails with
 * InvalidKeyUsageException (API_GenerateMac.html, API_VerifyMac.html, "Errors").
 */
import { constants, createCipheriv, createDecipheriv, createHmac, privateEncrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  VerifyMacCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSServiceException,
  SignCommand,
  type DecryptCommandInput,
  type DecryptCommandOutput,
  type GenerateDataKeyCommandInput,
  type GenerateDataKeyCommandOutput,
  type GenerateMacCommandInput,
  type GenerateMacCommandOutput,
  type VerifyMacCommandInput,
  type VerifyMacCommandOutput,
  type GetPublicKeyCommandInput,
  type GetPublicKeyCommandOutput,
  type KeySpec,
  type SignCommandInput,
  type SignCommandOutput,
} from '@aws-sdk/client-kms';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { rsaKeyPair, type RsaKeyPair } from './rsa-keys';

/** ASN.1 DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1). */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export const ACTIVE_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';
export const NEXT_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000';
/** The symmetric key that seals the token cache. */
export const CACHE_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/cccccccc-cccc-4ccc-8ccc-cccccccccccc';
/** The HMAC_256 key that authenticates the rotation state item. */
export const ROTATION_STATE_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/dddddddd-dddd-4ddd-8ddd-dddddddddddd';

export type KmsOperation = 'Sign' | 'GetPublicKey' | 'GenerateDataKey' | 'Decrypt' | 'GenerateMac' | 'VerifyMac';

/** A KMS service error as the SDK raises it: `name`, `$fault`, `$metadata.httpStatusCode`, and an SDK message holding the key ARN. */
export function kmsServiceError(name: string, httpStatusCode: number, keyArn = ACTIVE_KEY_ARN): KMSServiceException {
  return new KMSServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message: `User: arn:aws:sts::111122223333:assumed-role/broker-token/fn is not authorized to perform: kms:Sign on resource: ${keyArn} (${name})`,
  });
}

export const KMS_ERRORS = {
  throttling: () => kmsServiceError('ThrottlingException', 400),
  accessDenied: () => kmsServiceError('AccessDeniedException', 400),
  internal: () => kmsServiceError('KMSInternalException', 500),
} as const;

interface MockKey {
  readonly pair: RsaKeyPair;
  readonly keySpec: KeySpec;
  /** Overrides the public key DER (e.g. an EC key for a KeySpec test). */
  readonly publicKeyDer?: Uint8Array;
}

export interface MockKms {
  /** Pass this to the KMS adapters (KmsKeySigner, KmsPublicKeys, KmsStateAuthenticator, ...). */
  readonly client: KMSClient;
  readonly stub: AwsClientStub<KMSClient>;
  /** Adds (or replaces) a key; by default a real RSA-2048 pair named after the ARN. */
  addKey(keyId: string, key?: Partial<MockKey>): RsaKeyPair;
  /** The real key pair behind a key id, to verify what "KMS" signed. */
  keyPair(keyId: string): RsaKeyPair;
  /** The next call of `operation` fails with `error` (queued: several calls queue several failures). */
  failNext(operation: KmsOperation, error: Error): void;
  signInputs(): SignCommandInput[];
  getPublicKeyInputs(): GetPublicKeyCommandInput[];
  /** Adds a symmetric ENCRYPT_DECRYPT key (a real random AES-256 master key). */
  addSymmetricKey(keyId: string): void;
  generateDataKeyInputs(): GenerateDataKeyCommandInput[];
  decryptInputs(): DecryptCommandInput[];
  /** The real HMAC key behind an HMAC key id (ROTATION_STATE_KEY_ARN is there from the start). */
  hmacKey(keyId: string): Buffer;
  generateMacInputs(): GenerateMacCommandInput[];
  verifyMacInputs(): VerifyMacCommandInput[];
}

const clientError = (name: string, message: string) =>
  new KMSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

/** The encryption context in one canonical form (sorted pairs), the additional data of the mock's ciphertext blobs. */
const contextBytes = (context: Record<string, string> | undefined) =>
  Buffer.from(JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), 'utf8');

/**
 * A mocked KMS with the active key (`ACTIVE_KEY_ARN`) and, when `withNextKey`, the rotation key (`NEXT_KEY_ARN`).
 */
export function mockKms(options: { withNextKey?: boolean } = {}): MockKms {
  const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const stub = mockClient(client);
  const keys = new Map<string, MockKey>();
  const symmetricKeys = new Map<string, Buffer>();
  const hmacKeys = new Map<string, Buffer>([[ROTATION_STATE_KEY_ARN, randomBytes(32)]]);
  const failures: Record<KmsOperation, Error[]> = {
    Sign: [],
    GetPublicKey: [],
    GenerateDataKey: [],
    Decrypt: [],
    GenerateMac: [],
    VerifyMac: [],
  };

  const keyFor = (keyId: string | undefined): MockKey => {
    const key = keyId === undefined ? undefined : keys.get(keyId);
    if (!key) {
      throw new KMSServiceException({
        name: 'NotFoundException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: `Key '${keyId}' does not exist`,
      });
    }
    return key;
  };

  stub.on(GetPublicKeyCommand).callsFake(async (input: GetPublicKeyCommandInput): Promise<GetPublicKeyCommandOutput> => {
    const failure = failures.GetPublicKey.shift();
    if (failure) throw failure;
    const key = keyFor(input.KeyId);
    return {
      $metadata: { httpStatusCode: 200 },
      KeyId: input.KeyId,
      PublicKey: new Uint8Array(key.publicKeyDer ?? key.pair.spkiDer),
      KeySpec: key.keySpec,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: key.keySpec.startsWith('RSA_')
        ? ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PSS_SHA_256']
        : ['ECDSA_SHA_256'],
    };
  });

  stub.on(SignCommand).callsFake(async (input: SignCommandInput): Promise<SignCommandOutput> => {
    const failure = failures.Sign.shift();
    if (failure) throw failure;
    const key = keyFor(input.KeyId);
    const message = input.Message;
    if (input.MessageType !== 'DIGEST' || input.SigningAlgorithm !== 'RSASSA_PKCS1_V1_5_SHA_256' || !message || message.length !== 32) {
      throw new KMSServiceException({
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: `mock KMS expects a 32-byte DIGEST with RSASSA_PKCS1_V1_5_SHA_256, received ${input.MessageType} ${input.SigningAlgorithm} (${message?.length} bytes)`,
      });
    }
    const signature = privateEncrypt(
      { key: key.pair.privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO_PREFIX, Buffer.from(message)]),
    );
    return {
      $metadata: { httpStatusCode: 200 },
      KeyId: input.KeyId,
      Signature: new Uint8Array(signature),
      SigningAlgorithm: input.SigningAlgorithm,
    };
  });

  // A ciphertext blob: key id length (1) · key id · IV (12) · data key ciphertext · tag (16), as opaque as KMS's own.
  stub.on(GenerateDataKeyCommand).callsFake(async (input: GenerateDataKeyCommandInput): Promise<GenerateDataKeyCommandOutput> => {
    const failure = failures.GenerateDataKey.shift();
    if (failure) throw failure;
    const master = input.KeyId === undefined ? undefined : symmetricKeys.get(input.KeyId);
    if (!master || input.KeyId === undefined) throw clientError('NotFoundException', `Key '${input.KeyId}' does not exist`);
    if (input.KeySpec !== 'AES_256')
      throw clientError('ValidationException', `mock KMS expects KeySpec AES_256, received ${input.KeySpec}`);
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', master, iv);
    cipher.setAAD(contextBytes(input.EncryptionContext));
    const keyId = Buffer.from(input.KeyId, 'utf8');
    const blob = Buffer.concat([Buffer.from([keyId.length]), keyId, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      $metadata: { httpStatusCode: 200 },
      KeyId: input.KeyId,
      Plaintext: new Uint8Array(plaintext),
      CiphertextBlob: new Uint8Array(blob),
    };
  });

  stub.on(DecryptCommand).callsFake(async (input: DecryptCommandInput): Promise<DecryptCommandOutput> => {
    const failure = failures.Decrypt.shift();
    if (failure) throw failure;
    const blob = Buffer.from(input.CiphertextBlob ?? new Uint8Array());
    const invalid = () => clientError('InvalidCiphertextException', 'The ciphertext is invalid or was not encrypted under this context');
    const idLength = blob[0] ?? 0;
    if (blob.length < 1 + idLength + 12 + 32 + 16) throw invalid();
    const blobKeyId = blob.subarray(1, 1 + idLength).toString('utf8');
    if (input.KeyId !== undefined && input.KeyId !== blobKeyId) {
      throw clientError('IncorrectKeyException', 'The key ID in the request does not identify the KMS key that encrypted the ciphertext');
    }
    const master = symmetricKeys.get(blobKeyId);
    if (!master) throw invalid();
    const body = blob.subarray(1 + idLength);
    try {
      const decipher = createDecipheriv('aes-256-gcm', master, body.subarray(0, 12));
      decipher.setAAD(contextBytes(input.EncryptionContext));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const plaintext = Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]);
      return { $metadata: { httpStatusCode: 200 }, KeyId: blobKeyId, Plaintext: new Uint8Array(plaintext) };
    } catch {
      throw invalid();
    }
  });

  const hmacOf = (input: { KeyId?: string; Message?: Uint8Array; MacAlgorithm?: string }): Buffer => {
    const key = input.KeyId === undefined ? undefined : hmacKeys.get(input.KeyId);
    if (!key) {
      if (input.KeyId !== undefined && (keys.has(input.KeyId) || symmetricKeys.has(input.KeyId))) {
        throw clientError('InvalidKeyUsageException', `${input.KeyId} is not an HMAC key (GENERATE_VERIFY_MAC)`);
      }
      throw clientError('NotFoundException', `Key '${input.KeyId}' does not exist`);
    }
    const message = input.Message;
    if (input.MacAlgorithm !== 'HMAC_SHA_256' || !message || message.length < 1 || message.length > 4096) {
      throw clientError(
        'ValidationException',
        `mock KMS expects HMAC_SHA_256 over 1 to 4096 bytes, received ${input.MacAlgorithm} (${message?.length} bytes)`,
      );
    }
    return createHmac('sha256', key).update(message).digest();
  };

  stub.on(GenerateMacCommand).callsFake(async (input: GenerateMacCommandInput): Promise<GenerateMacCommandOutput> => {
    const failure = failures.GenerateMac.shift();
    if (failure) throw failure;
    return { $metadata: { httpStatusCode: 200 }, KeyId: input.KeyId, Mac: new Uint8Array(hmacOf(input)), MacAlgorithm: 'HMAC_SHA_256' };
  });

  stub.on(VerifyMacCommand).callsFake(async (input: VerifyMacCommandInput): Promise<VerifyMacCommandOutput> => {
    const failure = failures.VerifyMac.shift();
    if (failure) throw failure;
    const expected = hmacOf(input);
    const mac = Buffer.from(input.Mac ?? new Uint8Array());
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
      throw clientError('KMSInvalidMacException', 'The HMAC verification failed');
    }
    return { $metadata: { httpStatusCode: 200 }, KeyId: input.KeyId, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' };
  });

  const addKey = (keyId: string, key: Partial<MockKey> = {}): RsaKeyPair => {
    const pair = key.pair ?? rsaKeyPair(keyId);
    keys.set(keyId, { pair, keySpec: key.keySpec ?? 'RSA_2048', ...(key.publicKeyDer ? { publicKeyDer: key.publicKeyDer } : {}) });
    return pair;
  };
  addKey(ACTIVE_KEY_ARN);
  if (options.withNextKey) addKey(NEXT_KEY_ARN);
  symmetricKeys.set(CACHE_KEY_ARN, randomBytes(32));

  return {
    client,
    stub,
    addKey,
    keyPair: (keyId) => keyFor(keyId).pair,
    failNext: (operation, error) => void failures[operation].push(error),
    signInputs: () => stub.commandCalls(SignCommand).map((call) => call.args[0].input),
    getPublicKeyInputs: () => stub.commandCalls(GetPublicKeyCommand).map((call) => call.args[0].input),
    addSymmetricKey: (keyId) => void symmetricKeys.set(keyId, randomBytes(32)),
    generateDataKeyInputs: () => stub.commandCalls(GenerateDataKeyCommand).map((call) => call.args[0].input),
    decryptInputs: () => stub.commandCalls(DecryptCommand).map((call) => call.args[0].input),
    hmacKey: (keyId) => {
      const key = hmacKeys.get(keyId);
      if (!key) throw new Error(`no HMAC key ${keyId} in the mock`);
      return key;
    },
    generateMacInputs: () => stub.commandCalls(GenerateMacCommand).map((call) => call.args[0].input),
    verifyMacInputs: () => stub.commandCalls(VerifyMacCommand).map((call) => call.args[0].input),
  };
}
