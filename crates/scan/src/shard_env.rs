//! The shard of a batch task (`--shard auto`): read from the batch engine's environment
//! (a Slurm array task, a Kubernetes Indexed Job, or `PTRAUDIT_SHARD=I/N`), and written
//! into the task's arguments and paths (the `{shard}` and `{shards}` placeholders).

use crate::{Shard, TargetError};

/// Why `--shard auto` found no shard in the environment, or found one that does not
/// hold. Each message starts with `--shard auto:` and names the variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShardEnvError {
    /// A variable that must be a number is not.
    #[error("--shard auto: {name}={value:?} is not a number")]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The variables give an index outside the count.
    #[error("--shard auto: {from} gives part {index} of {count}, which is not a shard")]
    NotAShard {
        /// The batch engine, in words.
        from: &'static str,
        /// The index found.
        index: u64,
        /// The count found.
        count: u64,
    },
    /// `SLURM_ARRAY_TASK_ID` without `SLURM_ARRAY_TASK_COUNT`.
    #[error("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")]
    NoSlurmCount,
    /// `SLURM_ARRAY_TASK_ID` below `SLURM_ARRAY_TASK_MIN`.
    #[error("--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")]
    BelowSlurmMin {
        /// The task's id.
        id: u64,
        /// The array's first id.
        min: u64,
    },
    /// `JOB_COMPLETION_INDEX` without `PTRAUDIT_SHARDS`.
    #[error(
        "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but \
         PTRAUDIT_SHARDS is not: set it to the Job's completions in the manifest"
    )]
    NoShardCount,
    /// `PTRAUDIT_SHARD` is not `I/N`.
    #[error("--shard auto: PTRAUDIT_SHARD: {error}")]
    BadShard {
        /// Why (part of the message, not a source: the text is the one it always was).
        error: TargetError,
    },
    /// Two sources are set and give different shards.
    #[error("--shard auto: {first} says {first_shard} but {other} says {other_shard}")]
    Disagree {
        /// The first source found, in words.
        first: &'static str,
        /// Its shard.
        first_shard: Shard,
        /// The source that disagrees.
        other: &'static str,
        /// Its shard.
        other_shard: Shard,
    },
    /// No source is set.
    #[error(
        "--shard auto: no shard in the environment: run as a Slurm array task or a \
         Kubernetes Indexed Job, or set PTRAUDIT_SHARD=I/N"
    )]
    Missing,
}

/// The shard of this task from the batch engine's environment: a Slurm array task
/// (`SLURM_ARRAY_TASK_ID` from `SLURM_ARRAY_TASK_MIN` in steps of
/// `SLURM_ARRAY_TASK_STEP`, `SLURM_ARRAY_TASK_COUNT` tasks), a Kubernetes Indexed Job
/// (`JOB_COMPLETION_INDEX`, with the count in `PTRAUDIT_SHARDS`: the manifest sets it), or
/// `PTRAUDIT_SHARD=I/N`. Sources that are set must agree. `get` reads a variable
/// (`|k| std::env::var(k).ok()`).
pub fn shard_from_env(get: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardEnvError> {
    let num = |k: &'static str| -> Result<Option<u64>, ShardEnvError> {
        match get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ShardEnvError::NotANumber { name: k, value: v }),
        }
    };
    let mut found: Vec<(&'static str, Shard)> = Vec::new();
    let check = |index: u64, count: u64, from: &'static str| -> Result<Shard, ShardEnvError> {
        if count == 0 || index >= count {
            return Err(ShardEnvError::NotAShard { from, index, count });
        }
        Ok(Shard { index, count })
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or(ShardEnvError::NoSlurmCount)?;
        let offset = id
            .checked_sub(min)
            .ok_or(ShardEnvError::BelowSlurmMin { id, min })?;
        found.push((
            "the Slurm array",
            check(offset / step, count, "the Slurm array")?,
        ));
    }
    if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = num("PTRAUDIT_SHARDS")?.ok_or(ShardEnvError::NoShardCount)?;
        found.push((
            "the Kubernetes Indexed Job",
            check(index, count, "the Indexed Job")?,
        ));
    }
    if let Some(v) = get("PTRAUDIT_SHARD") {
        let s: Shard = v
            .parse()
            .map_err(|error| ShardEnvError::BadShard { error })?;
        found.push(("PTRAUDIT_SHARD", s));
    }
    match found.as_slice() {
        [] => Err(ShardEnvError::Missing),
        [(first, s), rest @ ..] => match rest.iter().find(|(_, o)| o != s) {
            Some((other, o)) => Err(ShardEnvError::Disagree {
                first,
                first_shard: *s,
                other,
                other_shard: *o,
            }),
            None => Ok(*s),
        },
    }
}

/// `argv` with `--shard auto` replaced by the shard and `{shard}`/`{shards}` filled in.
pub fn argv_with_shard(argv: Vec<String>, shard: Shard) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut after_shard = false;
    for a in argv {
        let a = if after_shard && a == "auto" {
            shard.to_string()
        } else if a == "--shard=auto" {
            format!("--shard={shard}")
        } else {
            fill_shard(&a, shard)
        };
        after_shard = a == "--shard";
        out.push(a);
    }
    out
}

/// `text` with `{shard}` replaced by the shard's index and `{shards}` by its count.
pub fn fill_shard(text: &str, shard: Shard) -> String {
    text.replace("{shards}", &shard.count.to_string())
        .replace("{shard}", &shard.index.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_auto_reads_slurm_kubernetes_or_ptraudit_shard_and_they_must_agree() {
        let env = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            shard_from_env(move |k| map.get(k).cloned()).map_err(|e| e.to_string())
        };
        let s = |i, n| Shard { index: i, count: n };
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(env(&slurm), Ok(s(2, 4)));
        // An array 10-16:2 has tasks 10, 12, 14, 16: task 14 is part 2 of 4.
        assert_eq!(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "14"),
                ("SLURM_ARRAY_TASK_MIN", "10"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ]),
            Ok(s(2, 4))
        );
        assert_eq!(
            env(&[("JOB_COMPLETION_INDEX", "3"), ("PTRAUDIT_SHARDS", "8")]),
            Ok(s(3, 8))
        );
        assert_eq!(env(&[("PTRAUDIT_SHARD", "0/2")]), Ok(s(0, 2)));
        let mut both = slurm.to_vec();
        both.push(("PTRAUDIT_SHARD", "2/4"));
        assert_eq!(env(&both), Ok(s(2, 4)));
        both.pop();
        both.push(("PTRAUDIT_SHARD", "1/4"));
        assert!(
            env(&both)
                .unwrap_err()
                .contains("says 2/4 but PTRAUDIT_SHARD says 1/4")
        );
        assert!(
            env(&[])
                .unwrap_err()
                .contains("no shard in the environment")
        );
        assert!(
            env(&[("JOB_COMPLETION_INDEX", "3")])
                .unwrap_err()
                .contains("PTRAUDIT_SHARDS")
        );
        assert!(env(&[("JOB_COMPLETION_INDEX", "8"), ("PTRAUDIT_SHARDS", "8")]).is_err());
        assert!(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "x"),
                ("SLURM_ARRAY_TASK_COUNT", "2")
            ])
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_ID=\"x\"")
        );
        assert_eq!(
            argv_with_shard(
                [
                    "--shard",
                    "auto",
                    "-o",
                    "p-{shard}-of-{shards}.csv",
                    "--shard=auto"
                ]
                .map(String::from)
                .to_vec(),
                s(2, 4)
            ),
            ["--shard", "2/4", "-o", "p-2-of-4.csv", "--shard=2/4"]
        );
    }
}
