//! Configuration tests: every error names its key.

use super::*;

fn parse(text: &str) -> Result<KernelConfig, ConfigError> {
    KernelConfig::from_toml(text, &Registry::with_builtins())
}

fn err(text: &str) -> ConfigError {
    parse(text).unwrap_err()
}

#[test]
fn an_empty_document_is_the_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.admin.addr.to_string(), DEFAULT_ADMIN_ADDR);
    assert_eq!(config.supervisor.strategy, Strategy::OneForOne);
    assert!(config.actors.is_empty());
}

#[test]
fn actors_keep_their_order_and_split_kernel_from_actor_keys() {
    let config = parse(
        r#"
        [actors.zeta]
        kind = "probe"
        placement = "process"
        shm_slots = 2
        shm_slot_bytes = 5000
        fail_start = false
        [actors.alpha]
        kind = "probe"
        restart = "transient"
        tick_ms = 50
        "#,
    )
    .unwrap();
    let names: Vec<_> = config.actors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    let zeta = config.actor("zeta").unwrap();
    assert_eq!(zeta.placement, Placement::Process);
    assert_eq!(zeta.pool.unwrap().slot_bytes, 8192, "rounded up to pages");
    assert_eq!(zeta.config.len(), 1, "only the actor's own key is left");
    let alpha = config.actor("alpha").unwrap();
    assert_eq!(alpha.restart, Restart::Transient);
    assert_eq!(alpha.tick, Some(Duration::from_millis(50)));
    assert_eq!(alpha.placement, Placement::Inprocess);
}

#[test]
fn unknown_keys_are_named() {
    let e = err("[supervisor]\nstrateg = \"one_for_all\"\n");
    assert_eq!(e.key, "supervisor.strateg");
    assert!(e.message.contains("unknown field `strateg`"), "{e}");
    assert!(e.message.contains("line 2"), "{e}");

    let e = err("[kernal]\n");
    assert_eq!(e.key, "kernal");
    assert!(e.message.contains("unknown field `kernal`"), "{e}");

    let e = err("[kernel]\nadmin_addr = 5\n");
    assert_eq!(e.key, "kernel.admin_addr");
    assert!(
        e.message.contains("expected a string") && e.message.contains("line 2"),
        "{e}"
    );

    // A syntax error has no key: one line with its position.
    let e = err("[supervisor\n");
    assert_eq!(e.key, "config");
    assert!(
        !e.message.contains('\n') && e.message.contains("line 1, column 12"),
        "{e}"
    );

    let e = err("[actors.probe]\nfoo = 1\n");
    assert_eq!(e.key, "actors.probe.foo");
    assert!(e.message.contains("unknown field `foo`"), "{e}");
}

#[test]
fn bad_values_are_named() {
    let e = err("[actors.probe]\nplacement = \"procss\"\n");
    assert_eq!(e.key, "actors.probe.placement");
    assert!(e.message.contains("procss"), "{e}");

    let e = err("[supervisor]\nstrategy = \"all_for_one\"\n");
    assert!(e.message.contains("all_for_one"), "{e}");

    let e = err("[actors.probe]\nfail_start = 3\n");
    assert_eq!(e.key, "actors.probe.fail_start");
    assert!(
        e.message.contains("expected a boolean") && !e.message.contains('\n'),
        "{e}"
    );

    let e = err("[supervisor]\nheartbeat_ms = 0\n");
    assert_eq!(
        e.to_string(),
        "supervisor.heartbeat_ms: must be at least 10 (got 0)"
    );

    let e = err("[kernel]\nadmin_addr = \"localhost\"\n");
    assert_eq!(e.key, "kernel.admin_addr");

    let e = err("[actors.probe]\nmailbox = 0\n");
    assert_eq!(e.key, "actors.probe.mailbox");

    let e = err("[actors.probe]\ntick_ms = \"fast\"\n");
    assert_eq!(e.key, "actors.probe.tick_ms");
}

#[test]
fn unknown_kinds_list_the_known_ones() {
    let e = err("[actors.camera]\nplacement = \"process\"\n");
    assert_eq!(e.key, "actors.camera");
    assert!(e.message.contains("known kinds: probe"), "{e}");
    let e = err("[actors.x]\nkind = \"nope\"\n");
    assert_eq!(e.key, "actors.x.kind");
}

#[test]
fn a_pool_needs_both_keys() {
    let e = err("[actors.probe]\nshm_slots = 2\n");
    assert_eq!(e.key, "actors.probe.shm_slot_bytes");
    let e = err("[actors.probe]\nshm_slot_bytes = 4096\n");
    assert_eq!(e.key, "actors.probe.shm_slots");
}

#[test]
fn names_are_checked() {
    let e = err("[actors.\"Bad Name\"]\nkind = \"probe\"\n");
    assert_eq!(e.key, "actors.Bad Name");
}

#[test]
fn syntax_errors_say_where() {
    let e = err("[supervisor\n");
    assert_eq!(e.key, "config");
    assert!(e.message.contains("line 1"), "{e}");
}
