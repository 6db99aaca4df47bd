/**
 * monitoring-types.ts names the parts of nats-server's monitoring documents
 * (/varz, /connz, /routez, /jsz, /leafz, and statsz over the system
 * account) that unibus reads: written once,
 * for the admin page, `unibus status`, the diagnosis and membership alike.
 * Fields are optional where nats leaves them out; everything else is ignored.
 */

/** Varz is nats-server's general state: identity, counters, limits. */
export interface Varz {
  server_id: string;
  server_name: string;
  version: string;
  go: string;
  start: string;
  now: string;
  uptime: string;
  mem: number;
  cpu: number;
  cores?: number;
  connections: number;
  total_connections: number;
  routes: number;
  remotes: number;
  leafnodes?: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  slow_consumers: number;
  subscriptions: number;
  cluster?: { name?: string; addr?: string; cluster_port?: number; urls?: string[] };
  jetstream?: { config?: { max_memory?: number; max_storage?: number; store_dir?: string }; stats?: { memory?: number; storage?: number } };
  [key: string]: unknown;
}

/** PeerTraffic is what /connz and /routez both report for one connection. */
export interface PeerTraffic {
  rtt?: string;
  uptime?: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
}

/** ConnInfo is one client connection in /connz. */
export interface ConnInfo extends PeerTraffic {
  cid: number;
  ip: string;
  port: number;
  name?: string;
  lang?: string;
  version?: string;
  pending_bytes?: number;
  tls_version?: string;
  /** "Client" for client connections. */
  kind?: string;
  /** "nats", "mqtt" or "websocket". */
  type?: string;
  /** Times this connection stalled its publishers (it could not keep up). */
  stalls?: number;
  /** With auth=true: the user or nkey it signed in as, and its account. */
  authorized_user?: string;
  account?: string;
  /** An MQTT connection's client id. */
  mqtt_client?: string;
  /** Closed connections: when and why. */
  stop?: string;
  reason?: string;
}

/** Connz is /connz: the client connections, sorted and limited by the query. */
export interface Connz {
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[];
}

/** RouteInfo is one route to another cluster node in /routez. */
export interface RouteInfo extends PeerTraffic {
  rid: number;
  remote_id: string;
  remote_name?: string;
  did_solicit?: boolean;
  is_configured?: boolean;
  ip: string;
  port: number;
  /** When the route connected (RFC 3339). */
  start?: string;
  compression?: string;
  account?: string;
}

/** Routez is /routez: this node's routes. */
export interface Routez {
  server_id: string;
  server_name: string;
  num_routes: number;
  routes: RouteInfo[] | null;
}

/** PeerInfo is one member of a RAFT group as reported by /jsz. */
export interface PeerInfo {
  name: string;
  current: boolean;
  offline?: boolean;
  active?: number;
  lag?: number;
  peer?: string;
}

/** SequenceInfo is a consumer's delivered or ack-floor position. */
export interface SequenceInfo { consumer_seq: number; stream_seq: number; last_active?: string }

/** ConsumerDetail is one consumer in /jsz?consumers=true (nats's ConsumerInfo). */
export interface ConsumerDetail {
  stream_name: string;
  name: string;
  created?: string;
  config?: { durable_name?: string; description?: string; ack_policy?: string; deliver_subject?: string; filter_subject?: string };
  delivered: SequenceInfo;
  ack_floor: SequenceInfo;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
  num_pending: number;
  cluster?: { name?: string; leader?: string; replicas?: PeerInfo[] };
  push_bound?: boolean;
  /** When the server took this view (the exporter measures "seconds since" from it). */
  ts?: string;
}

/** StreamDetail is one stream in /jsz?streams=true. */
export interface StreamDetail {
  name: string;
  cluster?: { name?: string; leader?: string; replicas?: PeerInfo[] };
  config?: { num_replicas?: number; storage?: string; subjects?: string[]; max_bytes?: number; max_msgs?: number; description?: string };
  state: { messages: number; bytes: number; first_seq: number; last_seq: number; consumer_count: number; num_subjects?: number };
  consumer_detail?: ConsumerDetail[];
  stream_raft_group?: string;
}

/** MetaCluster is the JetStream meta group as /jsz and statsz report it. */
export interface MetaCluster { name?: string; leader?: string; peer?: string; cluster_size?: number; replicas?: PeerInfo[] }

/** Jsz is /jsz?accounts=true&streams=true&consumers=true&config=true. */
export interface Jsz {
  server_id: string;
  disabled?: boolean;
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  config?: { max_memory?: number; max_storage?: number; store_dir?: string; domain?: string };
  meta_cluster?: MetaCluster;
  account_details?: { name: string; id: string; memory?: number; storage?: number; reserved_memory?: number; reserved_storage?: number; stream_detail?: StreamDetail[] }[];
}

/** LeafInfo is one leaf-node connection in /leafz. */
export interface LeafInfo {
  id?: number;
  name?: string;
  /** True on the side that dialed (an edge's uplink). */
  is_spoke?: boolean;
  account?: string;
  ip: string;
  port: number;
  rtt?: string;
  in_msgs?: number;
  out_msgs?: number;
  in_bytes?: number;
  out_bytes?: number;
  subscriptions?: number;
}

/** Leafz is /leafz: this node's leaf-node connections, both directions. */
export interface Leafz { server_id: string; leafnodes: number; leafs: LeafInfo[] | null }

/** GatewayConnInfo is one gateway connection in /gatewayz (nats's RemoteGatewayz with its ConnInfo, the fields unibus reads). */
export interface GatewayConnInfo { configured?: boolean; connection?: { name?: string; ip?: string; port?: number; start?: string; rtt?: string } }

/** Gatewayz is /gatewayz: this node's gateway connections, outbound (one per remote cluster) and inbound (any number per remote cluster). */
export interface Gatewayz { name?: string; outbound_gateways?: Record<string, GatewayConnInfo>; inbound_gateways?: Record<string, GatewayConnInfo[]> }

/** MsgBytes is a message and byte count in statsz. */
export interface MsgBytes { msgs: number; bytes: number }

/** ServerStatsMsg is one server's answer to $SYS.REQ.SERVER.PING (nats's ServerStatsMsg). */
export interface ServerStatsMsg {
  server: { name: string; host?: string; id: string; cluster?: string; domain?: string; ver?: string; jetstream?: boolean };
  statsz: {
    start: string;
    mem: number;
    cores: number;
    cpu: number;
    connections: number;
    total_connections: number;
    active_accounts: number;
    subscriptions: number;
    sent: MsgBytes;
    received: MsgBytes;
    slow_consumers: number;
    routes?: { rid: number; name?: string; sent: MsgBytes; received: MsgBytes; pending: number }[];
    gateways?: unknown[];
    gomemlimit?: number;
    jetstream?: {
      config?: { max_memory?: number; max_storage?: number };
      stats?: { memory?: number; storage?: number; reserved_memory?: number; reserved_storage?: number; accounts?: number; ha_assets?: number; api?: { total?: number; errors?: number } };
      meta?: MetaCluster & { pending?: number };
    };
  };
}
