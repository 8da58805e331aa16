//! `scan --shard auto` under a batch engine: the shard from the environment, `{shard}`
//! placeholders in paths, a task run again continuing its checkpoint, dataset metadata in
//! every Parquet part.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use crate::util::{send_signal, server, tempdir, text, verdicts, wait_for_checkpoint};

/// `ptraudit scan … --shard auto` in `dir` with `env` set.
fn task(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ptraudit"));
    c.current_dir(dir).arg("scan").args(args);
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_STEP",
        "JOB_COMPLETION_INDEX",
        "PTRAUDIT_SHARDS",
        "PTRAUDIT_SHARD",
    ] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

#[test]
fn slurm_tasks_write_their_parts_and_a_killed_task_run_again_continues() {
    let s = server();
    let dir = tempdir("shards");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::create_dir_all(dir.join("ck")).unwrap();
    let resolver = s.udp_addr().to_string();
    let args = [
        "198.18.0.0/22",
        "--resolver",
        &resolver,
        "--shard",
        "auto",
        "--rate",
        "150",
        "-o",
        "out/part-{shard}-of-{shards}.parquet",
        "--checkpoint",
        "ck/{shard}.json",
    ];
    let slurm = |id: &'static str| {
        [
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]
    };
    // Tasks 1 and 3 run to the end; task 2 is killed midway, then run again unchanged.
    for id in ["1", "3"] {
        let o = task(&dir, &slurm(id), &args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    }
    let child = task(&dir, &slurm("2"), &args)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&dir.join("ck/1.json"), true);
    send_signal("-KILL", child.id());
    let _ = child.wait_with_output();
    assert!(
        !dir.join("out/part-1-of-3.parquet").exists(),
        "killed midway"
    );
    let o = task(&dir, &slurm("2"), &args).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("belongs to this scan: continuing it"), "{err}");
    // Run once more: the part is complete, nothing to do.
    let o = task(&dir, &slurm("2"), &args).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).1.contains("nothing to resume"), "{}", text(&o).1);
    // The parts together: every address once, each verdict right.
    let truth = verdicts();
    let mut seen = BTreeMap::new();
    let mut scan_ids = std::collections::BTreeSet::new();
    for i in 0..3 {
        let part = dir.join(format!("out/part-{i}-of-3.parquet"));
        for r in ptraudit_report::read_rows(&part).unwrap() {
            assert_eq!(r.fcrdns.as_str(), truth[&r.ip], "{}", r.ip);
            assert!(seen.insert(r.ip, i).is_none(), "{} in two parts", r.ip);
        }
        let meta: BTreeMap<String, String> = ptraudit_report::parquet_metadata(&part)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(meta["ptraudit.shard"], format!("{i}/3"));
        assert_eq!(meta["ptraudit.targets"], "198.18.0.0-198.18.3.255");
        assert!(meta["ptraudit.schema"].ends_with("dnsbl,dnsbl_listed"));
        assert_eq!(meta["ptraudit.version"], env!("CARGO_PKG_VERSION"));
        assert!(meta["ptraudit.started_at"] <= meta["ptraudit.ended_at"]);
        scan_ids.insert(meta["ptraudit.scan_id"].clone());
    }
    assert_eq!(seen.len(), 1024);
    assert_eq!(scan_ids.len(), 1, "one scan, one id: {scan_ids:?}");
    // The same checkpoint with another scan's command line is refused by name.
    let mut other = args.to_vec();
    other[0] = "198.18.4.0/22";
    let o = task(&dir, &slurm("2"), &other).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ck/1.json is the checkpoint of a different scan"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shard_auto_without_a_batch_engine_and_placeholders_without_a_shard_are_refused() {
    let s = server();
    let dir = tempdir("shards-bad");
    let resolver = s.udp_addr().to_string();
    let o = task(
        &dir,
        &[],
        &["198.18.0.0/24", "--resolver", &resolver, "--shard", "auto"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("no shard in the environment"),
        "{}",
        text(&o).1
    );
    let o = task(
        &dir,
        &[],
        &[
            "198.18.0.0/24",
            "--resolver",
            &resolver,
            "-o",
            "p-{shard}.csv",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("{shard} in a path needs --shard"),
        "{}",
        text(&o).1
    );
    // A Kubernetes Indexed Job: the index, and the count the manifest sets.
    let o = task(
        &dir,
        &[("JOB_COMPLETION_INDEX", "1"), ("PTRAUDIT_SHARDS", "2")],
        &[
            "198.18.0.0/24",
            "--resolver",
            &resolver,
            "--shard",
            "auto",
            "-o",
            "k-{shard}.csv",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    assert_eq!(
        ptraudit_report::read_rows(&dir.join("k-1.csv"))
            .unwrap()
            .len(),
        128
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
