//! Transport hot paths beside their baselines: the envelope codec vs bare
//! bincode of the same payload, a frame's trip through the slot pool vs a
//! `memcpy`, and a link send+receive vs a raw ipc-channel send+receive.
//! Cross-process round trips and restarts are measured by `warden bench ipc`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipc_channel::ipc;
use warden_transport::bootstrap::Wire;
use warden_transport::{
    Body, DEFAULT_WINDOW, Envelope, Link, PoolSpec, SharedFrame, SlotPool, WirePayload,
    decode_envelope, encode_envelope,
};

fn call(data: Vec<u8>) -> Envelope {
    Envelope {
        seq: 41,
        sender: "kernel".into(),
        span: 7,
        credit: 123_456,
        body: Body::Call {
            id: 99,
            payload: WirePayload {
                data,
                frames: vec![],
            },
        },
    }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    let payload = vec![7u8; 32];
    let envelope = call(payload.clone());
    group.bench_function("envelope_encode_decode_32B", |b| {
        b.iter(|| {
            let bytes = encode_envelope(black_box(&envelope)).unwrap();
            black_box(decode_envelope(&bytes).unwrap())
        })
    });
    let config = bincode::config::standard();
    group.bench_function("baseline_bincode_bytes_32B", |b| {
        b.iter(|| {
            let bytes = bincode::encode_to_vec(black_box(&payload), config).unwrap();
            black_box(bincode::decode_from_slice::<Vec<u8>, _>(&bytes, config).unwrap())
        })
    });
    group.finish();
}

fn pool(c: &mut Criterion) {
    const LEN: usize = 8 << 20;
    let spec = PoolSpec {
        slots: 2,
        slot_bytes: LEN,
    };
    let kernel = SlotPool::create(spec, 1).unwrap();
    let child = SlotPool::attach(kernel.region(), spec, 1, 1 << 40).unwrap();
    let frame = SharedFrame::from_vec((0..LEN).map(|i| i as u8).collect());
    let mut group = c.benchmark_group("pool");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(30);
    group.bench_function("heap_frame_to_child_and_back_8MiB", |b| {
        b.iter(|| {
            // The kernel copies the frame into a slot; the child reads it
            // and hands it back; both drop their leases.
            let handle = kernel.export(black_box(&frame)).unwrap();
            let seen = child.import(handle).unwrap();
            let back = kernel.import(child.export(&seen).unwrap()).unwrap();
            black_box(back[LEN - 1]);
            drop(seen);
            kernel.release(handle.slot, handle.seq).unwrap();
        })
    });
    let mut target = vec![0u8; LEN];
    group.bench_function("baseline_memcpy_8MiB", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&frame));
            black_box(target[LEN - 1]);
        })
    });
    group.finish();
}

fn link(c: &mut Criterion) {
    let mut group = c.benchmark_group("link");
    let (tx, rx) = ipc::channel::<Wire>().unwrap();
    let (back_tx, back_rx) = ipc::channel::<Wire>().unwrap();
    let link = Link::new(tx, "kernel", DEFAULT_WINDOW, 0);
    let peer = Link::new(back_tx, "child", DEFAULT_WINDOW, 0);
    let body = || Body::Tell {
        payload: WirePayload {
            data: vec![7u8; 32],
            frames: vec![],
        },
    };
    let mut n = 0u32;
    group.bench_function("send_receive_decode_32B", |b| {
        b.iter(|| {
            link.send_now(body(), 0).unwrap();
            let Wire::Frame(bytes) = rx.recv().unwrap() else {
                unreachable!()
            };
            let envelope = decode_envelope(&bytes).unwrap();
            peer.on_receive(&envelope, bytes.len()).unwrap();
            // The peer returns credit now and then; read it, as the kernel would.
            n += 1;
            if n.is_multiple_of(16) {
                while back_rx.try_recv().is_ok() {}
            }
            // Return the credit so the window never closes.
            link.on_receive(
                &Envelope {
                    credit: u64::MAX,
                    ..envelope
                },
                0,
            )
            .unwrap();
        })
    });
    let (raw_tx, raw_rx) = ipc::bytes_channel().unwrap();
    let bytes = encode_envelope(&call(vec![7u8; 32])).unwrap();
    group.bench_function("baseline_raw_ipc_bytes_send_receive", |b| {
        b.iter(|| {
            raw_tx.send(black_box(&bytes)).unwrap();
            black_box(raw_rx.recv().unwrap())
        })
    });
    let (typed_tx, typed_rx) = ipc::channel::<Wire>().unwrap();
    group.bench_function("baseline_typed_ipc_frame_send_receive", |b| {
        b.iter(|| {
            typed_tx
                .send(Wire::Frame(serde_bytes::ByteBuf::from(bytes.clone())))
                .unwrap();
            black_box(typed_rx.recv().unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, codec, pool, link);
criterion_main!(benches);
