/**
 * IPv4 address arithmetic: the one place that parses, compares and cuts CIDR blocks. Config checks, the address
 * plan, the constructs and the policy rules all import it, so "contains", "overlaps" and "the subnets a block
 * holds" mean the same thing when a file is validated, when a stack is built and when the artifact is judged.
 * Ground floor: it imports nothing of ours but the message seam (reasons are translatable).
 */
import * as ipaddr from "ipaddr.js";
import { phrase, tr } from "./messages";

export interface Cidr {
  readonly text: string;
  readonly address: ipaddr.IPv4;
  readonly bits: number;
}

/** Parses an IPv4 CIDR whose host bits are zero, or returns why not. */
export function parseCidr(text: unknown): Cidr | string {
  if (typeof text !== "string") return phrase(tr`not a string`);
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text)) return phrase(tr`not an IPv4 CIDR like 10.64.0.0/22`);
  // ipaddr.js (like inet_aton) reads 012.064.0.0 as octal, AWS as decimal: only plain decimal octets are accepted
  if (/(^|\.)0\d/.test(text.split("/")[0])) return phrase(tr`not a plain dotted-decimal IPv4 CIDR (no leading zeros)`);
  let parsed: [ipaddr.IPv4, number];
  try {
    parsed = ipaddr.IPv4.parseCIDR(text);
  } catch {
    return phrase(tr`not a valid IPv4 CIDR`);
  }
  const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
  if (network !== parsed[0].toString()) return phrase(tr`host bits are set: the network is ${network}/${parsed[1]}`);
  return { text, address: parsed[0], bits: parsed[1] };
}

/** Parses a CIDR the program itself wrote (a plan's block, a synthesized attribute); throws where it is not one. */
export function cidrOf(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === "string") throw new Error(`${JSON.stringify(text)}: ${c}`);
  return c;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.address.match(b.address, b.bits) || b.address.match(a.address, a.bits);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.bits <= inner.bits && inner.address.match(outer.address, outer.bits);
}

/** Whether two CIDRs are the same block (same network and prefix length). */
export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.bits === b.bits && a.address.toString() === b.address.toString();
}

/** The address as an unsigned 32-bit number. */
export function ipToInt(address: ipaddr.IPv4 | string): number {
  const a = typeof address === "string" ? ipaddr.IPv4.parse(address) : address;
  return a.toByteArray().reduce((n, b) => n * 256 + b, 0);
}

/** The dotted-decimal text of an unsigned 32-bit number. */
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The number of addresses in a block of this prefix length. */
export function blockSize(bits: number): number {
  return 2 ** (32 - bits);
}

/** The first address of a block, as a number. */
export function networkInt(cidr: string): number {
  return ipToInt(ipaddr.IPv4.parseCIDR(cidr)[0]);
}

/** The prefix length of a CIDR text. */
export function prefixOf(cidr: string): number {
  return ipaddr.IPv4.parseCIDR(cidr)[1];
}

/** "a.b.c.d/bits" from a network number and a prefix length. */
export function cidrText(network: number, bits: number): string {
  return `${intToIp(network)}/${bits}`;
}

/** The `count` consecutive blocks of prefix `bits` from `start` (a network number). */
export function consecutiveBlocks(start: number, bits: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => cidrText(start + i * blockSize(bits), bits));
}

/** The subnets of prefix `bits` that a block holds, in address order (the whole block cut evenly). */
export function subnetsOf(block: string, bits: number): string[] {
  const outer = prefixOf(block);
  if (bits < outer) throw new Error(`a /${outer} holds no /${bits}`);
  return consecutiveBlocks(networkInt(block), bits, 2 ** (bits - outer));
}

/** A host address at `offset` from a subnet's network address. */
export function hostAddress(subnetCidr: string, offset: number): string {
  return intToIp(networkInt(subnetCidr) + offset);
}

/** Whether an address (dotted decimal) lies inside a block. */
export function addressIn(address: string, block: Cidr): boolean {
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return false;
  return ipaddr.IPv4.parse(address).match(block.address, block.bits);
}
