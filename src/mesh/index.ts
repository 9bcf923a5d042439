/** Peer-to-peer plumbing: the coordinator's mesh API client, PeerJS signalling, peer links and blob transfer. */
export { coordinatorUrl, fetchConfig, hasRelay, type MeshConfig, meshSocketUrl, peerOptions, rtcConfiguration } from './config.ts';
export { ICE_DEAD_MS, IceWatch, type IceWatchOptions } from './ice-watch.ts';
export { CoordinatorClient, type CoordinatorClientOptions, type MovedDetail, type PushFrame, type RequestFrame, type WelcomeFrame } from './coordinator-client.ts';
export { backoffMs, coordinatorBase, coordinatorList, MAX_COORDINATORS, reconnectPlan, type ReconnectStep } from './coordinator-list.ts';
export { isFatalPeerError, openSignalling } from './signalling.ts';
export { pointSignallingAt, reconnectSignalling, SignallingKeeper } from './signalling-keeper.ts';
export { PeerNetwork, type PeerNetworkOptions, type ReconnectPolicy } from './peer-network.ts';
export { HIGH_WATER_BYTES, LOW_WATER_BYTES, MAX_CONTROL_CHARS, PeerLink, type PullRequest, type ShardRequest } from './peer-link.ts';
export { type BlobKind, type InboxFrame, LeaseInbox, MAX_UNREAD, RemoteFailure } from './lease-inbox.ts';
export { type BlobFrame, BlobReceiver, chunkPayloads, type CompletedBlob, type VerifiedBlob, verifyBlob } from './transfer.ts';
export { loopbackPair } from './loopback.ts';
export { FIRST_REPORT_MS, REPORT_EVERY_MS, reportRtts, rttFromStats, type RttSink } from './rtt-report.ts';
