/**
 * The typed config the stacks are built from: the file's type (generated from the JSON Schema) with every
 * default applied, so code never guesses a default of its own.
 */
import type { MunicipalityFile } from "./municipality-file.generated";

export type { MunicipalityFile } from "./municipality-file.generated";

type RemoteAccessFile = NonNullable<MunicipalityFile["remoteAccess"]>;

export type RemoteAccessConfig = Required<Omit<RemoteAccessFile, "samlProviderArn">> & Pick<RemoteAccessFile, "samlProviderArn">;
export type RelayRouteConfig = NonNullable<MunicipalityFile["relay"]>[number];
export type SiteConfig = MunicipalityFile["sites"][number];
export type BandwidthTierId = MunicipalityFile["bandwidthTier"];
type SanitizationFile = NonNullable<MunicipalityFile["breakout"]["sanitization"]>;
/** 無害化 with its defaults applied. */
export type SanitizationConfig = Required<Omit<SanitizationFile, "externalIcapUrl" | "largerFilesReason" | "guidance">> & Pick<SanitizationFile, "externalIcapUrl" | "largerFilesReason" | "guidance">;
export type SuppressionConfig = NonNullable<MunicipalityFile["suppressions"]>[number];

export interface MunicipalityConfig
  extends Omit<MunicipalityFile, "network" | "remoteAccess" | "breakout" | "relay" | "logging" | "suppressions"> {
  readonly network: Required<MunicipalityFile["network"]>;
  readonly remoteAccess?: RemoteAccessConfig;
  readonly breakout: Required<Omit<MunicipalityFile["breakout"], "interceptionCa" | "sanitization">> &
    Pick<MunicipalityFile["breakout"], "interceptionCa"> & { readonly sanitization?: SanitizationConfig };
  /** empty when the file has no relay routes */
  readonly relay: RelayRouteConfig[];
  readonly logging: Required<NonNullable<MunicipalityFile["logging"]>>;
  /** empty when the file has none */
  readonly suppressions: SuppressionConfig[];
  /** the file it was read from (for messages; never part of synthesized output) */
  readonly sourceFile: string;
}
