//! Warden's actor contract, hosts, supervisor, topics, config and admin HTTP.
