/** Both tunnels of every Site-to-Site VPN connection, as the VPN rules read them. */
import { perStack } from "./model";

export interface Tunnel {
  /** the VPN connection's address */
  readonly address: string;
  /** "tunnel1" or "tunnel2" */
  readonly name: string;
  /** the connection's value of `<tunnel>_<key>` */
  get(key: string): any;
}

/** Once per stack: the three VPN rules read them. */
export const vpnTunnels = perStack((model): readonly Tunnel[] =>
  model.ofType("aws_vpn_connection").flatMap((v) => ["tunnel1", "tunnel2"].map((name) => ({ address: v.address, name, get: (key: string) => v.values[`${name}_${key}`] }))),
);
