// The reference server for `npm run bench -- signalling`: the `peer` package's PeerServer on 127.0.0.1, its
// defaults except for the connection cap (5,000 by default, below the bench's 10,000). Prints {port} when up.
import { PeerServer } from 'peer';

const port = Number(process.argv[2]);
PeerServer({ host: '127.0.0.1', port, path: '/peerjs', key: 'peerjs', concurrent_limit: 1_000_000 }, () => {
  console.log(JSON.stringify({ port }));
});
