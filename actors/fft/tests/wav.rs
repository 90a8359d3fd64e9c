//! WAV input: every encoding `warden analyze` promises reads back as the mono
//! mix of what was written, and every malformed file is a typed error that
//! names the file, never a panic.

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use warden_fft::{
    FftError, GeneratorConfig, WavEncoding, WavSource, encode_wav, generate, write_wav,
};

/// A canonical 44-byte-header WAV with the given fmt fields and data bytes.
fn wav_bytes(format_tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn read_all(bytes: &[u8]) -> Result<Vec<f32>, FftError> {
    WavSource::from_reader(Cursor::new(bytes), "test.wav")?.read_all_mono()
}

#[test]
fn every_encoding_and_layout_reads_back_as_the_mono_mix() {
    for channels in [1u16, 2] {
        for rate in [22_050u32, 44_100, 48_000, 96_000] {
            let signal = generate(&GeneratorConfig {
                seconds: 0.5,
                channels,
                sample_rate: rate,
                ..Default::default()
            })
            .unwrap();
            let expected = signal.mono();
            for (encoding, tolerance) in [
                (WavEncoding::Int16, 2.0 / 32_768.0),
                (WavEncoding::Int24, 2.0 / 8_388_608.0),
                (WavEncoding::Int32, 1e-6),
                (WavEncoding::Float32, 1e-7),
            ] {
                let mut bytes = Cursor::new(Vec::new());
                encode_wav(&mut bytes, &signal.samples, rate, channels, encoding).unwrap();
                let mut source =
                    WavSource::from_reader(Cursor::new(bytes.into_inner()), "test.wav").unwrap();
                let info = source.info();
                assert_eq!((info.sample_rate, info.channels), (rate, channels));
                assert_eq!(info.frames as usize, expected.len());
                // Read in odd-sized chunks to cross every boundary.
                let mut mono = Vec::new();
                let mut chunk = Vec::new();
                while source.read_mono(&mut chunk, 1_001).unwrap() > 0 {
                    mono.extend_from_slice(&chunk);
                }
                assert_eq!(mono.len(), expected.len());
                let worst = mono
                    .iter()
                    .zip(&expected)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(
                    worst <= tolerance,
                    "{encoding:?} {channels} ch {rate} Hz: error {worst}"
                );
            }
        }
    }
}

#[test]
fn eight_bit_and_24_in_32_bit_containers_are_read() {
    // 8-bit PCM is unsigned: 0 is −1, 128 is 0, 255 is +127/128.
    let mono = read_all(&wav_bytes(1, 1, 8_000, 8, &[0, 128, 255])).unwrap();
    assert_eq!(mono, [-1.0, 0.0, 127.0 / 128.0]);

    // 24 valid bits in 4-byte containers (WAVE_FORMAT_EXTENSIBLE, written by hound).
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new_with_spec_ex(
            &mut bytes,
            hound::WavSpecEx {
                spec,
                bytes_per_sample: 4,
            },
        )
        .unwrap();
        for v in [4_194_304, -4_194_304, -8_388_608, 0, 1, 3] {
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
    }
    let mono = read_all(&bytes.into_inner()).unwrap();
    assert_eq!(mono, [0.0, -0.5, 2.0 / 8_388_608.0]);
}

fn assert_names_file(err: &FftError, name: &str) {
    assert!(
        err.to_string().contains(name),
        "error does not name the file: {err}"
    );
}

#[test]
fn malformed_files_are_typed_errors_naming_the_file() {
    let valid = wav_bytes(1, 2, 44_100, 16, &[0u8; 400]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "text",
            b"this is not audio at all, just some text\n".to_vec(),
        ),
        ("header cut", valid[..30].to_vec()),
        ("no data chunk", valid[..36].to_vec()),
        ("wrong magic", [b"RIFX".as_slice(), &valid[4..]].concat()),
        ("odd data length", wav_bytes(1, 2, 44_100, 16, &[0u8; 401])),
    ];
    for (what, bytes) in cases {
        match WavSource::from_reader(Cursor::new(bytes), format!("{what}.wav")) {
            Err(e @ FftError::MalformedWav { .. }) => assert_names_file(&e, what),
            other => panic!("{what}: {other:?}"),
        }
    }
    for (what, bytes) in [
        ("adpcm", wav_bytes(2, 1, 8_000, 16, &[0u8; 10])),
        ("float64", wav_bytes(3, 1, 8_000, 64, &[0u8; 16])),
    ] {
        match WavSource::from_reader(Cursor::new(bytes), format!("{what}.wav")) {
            Err(e @ FftError::UnsupportedWav { .. }) => assert_names_file(&e, what),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn a_file_cut_inside_its_data_is_a_truncation_error_with_counts() {
    let full = wav_bytes(1, 2, 44_100, 16, &[7u8; 4_000]); // 1000 stereo frames
    let cut = &full[..44 + 1_202]; // 300 whole frames and a half
    let mut source = WavSource::from_reader(Cursor::new(cut), "cut.wav").unwrap();
    match source.read_all_mono() {
        Err(
            e @ FftError::TruncatedWav {
                expected: 1_000,
                found: 300,
                ..
            },
        ) => assert_names_file(&e, "cut.wav"),
        other => panic!("{other:?}"),
    }
    // Even the first sample missing is reported, not a panic.
    match WavSource::from_reader(Cursor::new(&full[..44]), "bare.wav") {
        Err(FftError::TruncatedWav {
            expected: 1_000,
            found: 0,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_on_disk_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let signal = generate(&GeneratorConfig {
        seconds: 0.2,
        channels: 1,
        first_beat_s: 0.0,
        ..Default::default()
    })
    .unwrap();
    write_wav(&path, &signal.samples, 48_000, 1, WavEncoding::Float32).unwrap();
    let mono = WavSource::open(&path).unwrap().read_all_mono().unwrap();
    assert_eq!(mono, signal.samples);

    match WavSource::open(dir.path().join("missing.wav")) {
        Err(e @ FftError::Io { .. }) => assert_names_file(&e, "missing.wav"),
        other => panic!("{other:?}"),
    }
    match write_wav(
        Path::new("/nonexistent-dir/x.wav"),
        &[0.0],
        48_000,
        1,
        WavEncoding::Int16,
    ) {
        Err(e @ FftError::Io { .. }) => assert_names_file(&e, "x.wav"),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any corruption of a valid file is read or rejected, never a panic.
    #[test]
    fn corrupted_headers_never_panic(
        edits in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
        cut in 0usize..200,
    ) {
        let mut bytes = wav_bytes(1, 2, 44_100, 16, &[1u8; 160]);
        for (at, value) in edits {
            if let Some(b) = bytes.get_mut(at) {
                *b = value;
            }
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        if let Ok(mut source) = WavSource::from_reader(Cursor::new(bytes), "fuzz.wav") {
            let _ = source.read_all_mono();
        }
    }

    /// Arbitrary bytes behind a RIFF/WAVE magic are read or rejected, never a panic.
    #[test]
    fn arbitrary_chunks_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"RIFF\0\0\0\0WAVE".to_vec();
        bytes.extend_from_slice(&body);
        if let Ok(mut source) = WavSource::from_reader(Cursor::new(bytes), "fuzz.wav") {
            let _ = source.read_all_mono();
        }
    }
}
