/** Wire protocol version spoken by every Meshwork boundary (worker RPC, peer frames, coordinator API). */
export const PROTOCOL_VERSION = 2;
