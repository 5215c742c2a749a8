/**
 * A customer-managed KMS key with rotation on and an explicit key policy: the account administers it (without
 * that statement nobody could manage the key again) and each caller adds only the service grants it needs.
 */
import { Construct } from "constructs";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";

export interface CustomerKeyOptions {
  readonly description: string;
  readonly accountId: string;
  /** statements beyond account administration: the services that use the key */
  readonly statements: Record<string, unknown>[];
  /** @default false */
  readonly preventDestroy?: boolean;
}

export function customerKey(scope: Construct, id: string, o: CustomerKeyOptions): KmsKey {
  return new KmsKey(scope, id, {
    description: o.description,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${o.accountId}:root` }, Action: "kms:*", Resource: "*" }, ...o.statements],
    }),
    ...(o.preventDestroy ? { lifecycle: { preventDestroy: true } } : {}),
  });
}
