//! nfbpf-agent: function registry, scheduler and HTTP API.
//!
//! Nothing here yet: the agent is not implemented.
