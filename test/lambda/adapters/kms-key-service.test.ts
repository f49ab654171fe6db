import { CreateKeyCommand, KMSServiceException, ScheduleKeyDeletionCommand, type CreateKeyCommandInput } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { ROTATED_KEY_TAG } from '../../../contract/aws-names';
import { DELETION_PENDING_DAYS, KmsKeyService } from '../../../lambda/adapters/kms-key-service';
import { KmsKeySigner } from '../../../lambda/adapters/kms-signer';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { mockKms } from '../../support/kms-mock';
import { createVerify } from 'node:crypto';

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'x', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }],
});

function kmsWithCreateKey() {
  const kms = mockKms();
  let n = 0;
  kms.stub.on(CreateKeyCommand).callsFake(async (input: CreateKeyCommandInput) => {
    const arn = `arn:aws:kms:eu-west-1:111122223333:key/rotated-${String(n++)}`;
    kms.addKey(arn);
    return { KeyMetadata: { KeyId: arn, Arn: arn, KeySpec: input.KeySpec, KeyUsage: input.KeyUsage } };
  });
  return kms;
}

describe('KmsKeyService', () => {
  it('creates an RSA_2048 SIGN_VERIFY key with the given policy and the deployment tag, whose public half it reads', async () => {
    const kms = kmsWithCreateKey();
    const service = new KmsKeyService(kms.client, { deployment: 'Stack/Broker', keyPolicy: POLICY });
    const keyId = await service.createKey();
    const [call] = kms.stub.commandCalls(CreateKeyCommand);
    expect(call?.args[0].input).toMatchObject({
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      Policy: POLICY,
      Tags: [{ TagKey: ROTATED_KEY_TAG, TagValue: 'Stack/Broker' }],
    });
    expect(await service.publicKey(keyId)).toEqual(await rsaPublicKeyToJwk(kms.keyPair(keyId).publicKey));
    // The rotated key signs through the KeySigner, verifiable with its public half.
    const signature = await new KmsKeySigner(kms.client).sign(keyId, Buffer.from('header.claims'));
    expect(createVerify('sha256').update('header.claims').verify(kms.keyPair(keyId).publicKey, signature)).toBe(true);
  });

  it('schedules deletion with the longest pending window, and takes "already pending" or "gone" as done', async () => {
    const kms = mockKms();
    const service = new KmsKeyService(kms.client, { deployment: 'd', keyPolicy: POLICY });
    const invalidState = new KMSServiceException({
      name: 'KMSInvalidStateException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'pending deletion',
    });
    const notFound = new KMSServiceException({
      name: 'NotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'gone',
    });
    kms.stub
      .on(ScheduleKeyDeletionCommand)
      .resolvesOnce({})
      .rejectsOnce(invalidState)
      .rejectsOnce(notFound)
      .rejects(
        new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'no' }),
      );
    await service.scheduleDeletion('k');
    await service.scheduleDeletion('k');
    await service.scheduleDeletion('k');
    expect(kms.stub.commandCalls(ScheduleKeyDeletionCommand)[0]?.args[0].input).toEqual({
      KeyId: 'k',
      PendingWindowInDays: DELETION_PENDING_DAYS,
    });
    await expect(service.scheduleDeletion('k')).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('ScheduleKeyDeletion') as string,
    });
  });

  it('maps a throttled CreateKey to upstream_unavailable', async () => {
    const kms = mockKms();
    kms.stub.on(CreateKeyCommand).rejects(
      new KMSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'slow down',
      }),
    );
    await expect(new KmsKeyService(kms.client, { deployment: 'd', keyPolicy: POLICY }).createKey()).rejects.toMatchObject({
      code: 'upstream_unavailable',
    });
  });
});
