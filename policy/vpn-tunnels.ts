/** Both tunnels of every Site-to-Site VPN connection, as the VPN rules read them. */
import type { StackModel } from "./model";

export interface Tunnel {
  /** the VPN connection's address */
  readonly address: string;
  /** "tunnel1" or "tunnel2" */
  readonly name: string;
  /** the connection's value of `<tunnel>_<key>` */
  get(key: string): any;
}

export function vpnTunnels(model: StackModel): Tunnel[] {
  return model.ofType("aws_vpn_connection").flatMap((v) => ["tunnel1", "tunnel2"].map((name) => ({ address: v.address, name, get: (key: string) => v.values[`${name}_${key}`] })));
}
