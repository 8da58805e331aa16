//! One scan as decided before any query is sent: which addresses (targets, files of
//! them, excludes), which shard of them, in what order, brute-forced or walked (IPv6
//! above a size is walked), with or without neighbourhood templates.

use std::path::PathBuf;

use crate::{Checkpoint, Order, Shard, TargetError, TargetSet, WalkPlan};

/// A scan that cannot be prepared. Each message names the option that would fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A target, or a file of them, is wrong.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Nothing given to scan.
    #[error("no targets: give CIDRs, addresses or ranges as arguments, or -i FILE")]
    NoTargets,
    /// The excludes cover every target.
    #[error("the exclude list covers every target ({0} addresses): nothing to scan")]
    AllExcluded(u128),
    /// IPv6 space too large to brute-force, and walking refused.
    #[error(
        "the IPv6 targets hold {v6} addresses, more than --max-v6 {max_v6}: brute force over \
         IPv6 space is pointless; drop --no-walk to walk the ip6.arpa tree, or narrow \
         the range"
    )]
    TooLargeToBruteForce {
        /// IPv6 addresses in the targets.
        v6: u128,
        /// The most IPv6 addresses brute-forced.
        max_v6: u64,
    },
    /// A query budget without a walk.
    #[error("--max-queries applies to a walk: add --walk (or give IPv6 ranges above --max-v6)")]
    BudgetWithoutWalk,
    /// A random order for a walk.
    #[error(
        "--order random does not apply to a walk (it follows the tree); drop it or \
         add --no-walk"
    )]
    RandomWalk,
}

/// What a scan is asked to cover, checked into a [`ScanJob`] by [`ScanJob::prepare`].
#[derive(Debug, Clone, Copy)]
pub struct JobRequest<'a> {
    /// Targets as given: CIDRs, addresses, ranges (`A-B`).
    pub targets: &'a [String],
    /// Files of targets, one per line (`-`: stdin).
    pub inputs: &'a [PathBuf],
    /// Files of targets to skip.
    pub exclude: &'a [PathBuf],
    /// The part to scan.
    pub shard: Shard,
    /// The visiting order.
    pub order: Order,
    /// IPv6 targets holding more addresses than this are walked (`--max-v6`).
    pub max_v6: u64,
    /// Walk every target, IPv4 too (`--walk`).
    pub walk: bool,
    /// Never walk (`--no-walk`).
    pub no_walk: bool,
    /// A walk's query budget (`--max-queries`).
    pub max_queries: Option<u64>,
    /// Neighbourhood templates, where the order allows them.
    pub templates: bool,
}

/// Everything a scan needs, checked before any query is sent.
#[derive(Debug)]
pub struct ScanJob {
    /// Addresses.
    pub targets: TargetSet,
    /// Shard.
    pub shard: Shard,
    /// Order.
    pub order: Order,
    /// The walk, when the targets are walked rather than brute-forced.
    pub walk: Option<WalkPlan>,
    /// Judge the names of each summary prefix together (linear order and walks only:
    /// rows are held until their prefix is complete, which only an ordered scan knows).
    pub templates: bool,
}

impl ScanJob {
    /// The job `request` asks for: its targets read, the excludes taken out, and the
    /// IPv6 targets walked when they hold more than `max_v6` addresses
    /// (`auto_walk(v6)` is told so, before the walk is planned) or every target when
    /// `walk`.
    pub fn prepare(
        request: &JobRequest<'_>,
        auto_walk: impl FnOnce(u128),
    ) -> Result<ScanJob, JobError> {
        let mut targets = TargetSet::new();
        for t in request.targets {
            targets.add_spec(t)?;
        }
        for file in request.inputs {
            targets.read_file(file)?;
        }
        if targets.is_empty() {
            return Err(JobError::NoTargets);
        }
        let before = targets.len();
        let mut excluded = TargetSet::new();
        for file in request.exclude {
            excluded.read_file(file)?;
        }
        targets.subtract(&excluded);
        if targets.is_empty() {
            return Err(JobError::AllExcluded(before));
        }
        let v6 = targets.len_v6();
        let large_v6 = v6 > u128::from(request.max_v6);
        if large_v6 && request.no_walk {
            return Err(JobError::TooLargeToBruteForce {
                v6,
                max_v6: request.max_v6,
            });
        }
        let (shard, order) = (request.shard, request.order);
        let walking = request.walk || large_v6;
        if !walking && request.max_queries.is_some() {
            return Err(JobError::BudgetWithoutWalk);
        }
        let walk = if walking {
            if matches!(order, Order::Random { .. }) {
                return Err(JobError::RandomWalk);
            }
            if !request.walk {
                auto_walk(v6);
            }
            Some(targets.walk_plan(shard)?.max_queries(request.max_queries))
        } else {
            None
        };
        let templates = request.templates && matches!(order, Order::Linear);
        Ok(ScanJob {
            targets,
            shard,
            order,
            walk,
            templates,
        })
    }

    /// Plan positions: addresses, or a walk's units (/24s and /64s).
    pub fn total(&self) -> u64 {
        match &self.walk {
            Some(w) => w.len(),
            None => self.targets.plan(self.shard, self.order).len(),
        }
    }

    /// What [`ScanJob::total`] counts, for messages.
    pub fn what(&self) -> &'static str {
        if self.walk.is_some() {
            "blocks (/24s, /64s)"
        } else {
            "addresses"
        }
    }

    /// How many of the job's plan positions ([`ScanJob::total`]) a checkpoint holds as
    /// done.
    pub fn done_in(&self, done: &Checkpoint) -> u64 {
        let total = self.total();
        let below = done.done_below().min(total);
        below
            + done
                .done_above()
                .filter(|&(a, _)| a < total)
                .map(|(a, b)| b.min(total - 1) - a + 1)
                .sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(targets: &'a [String]) -> JobRequest<'a> {
        JobRequest {
            targets,
            inputs: &[],
            exclude: &[],
            shard: Shard::ALL,
            order: Order::Linear,
            max_v6: 1 << 20,
            walk: false,
            no_walk: false,
            max_queries: None,
            templates: true,
        }
    }

    #[test]
    fn large_ipv6_is_walked_and_told_small_space_is_brute_forced() {
        let small = ["198.18.0.0/24".to_string()];
        let job = ScanJob::prepare(&request(&small), |_| panic!("not walked")).unwrap();
        assert!(job.walk.is_none() && job.templates);
        assert_eq!((job.total(), job.what()), (256, "addresses"));
        let large = ["2001:db8::/48".to_string()];
        let mut told = None;
        let job = ScanJob::prepare(&request(&large), |v6| told = Some(v6)).unwrap();
        assert!(job.walk.is_some());
        assert_eq!(told, Some(1 << 80));
        let refused = ScanJob::prepare(
            &JobRequest {
                no_walk: true,
                ..request(&large)
            },
            |_| {},
        );
        assert!(matches!(
            refused,
            Err(JobError::TooLargeToBruteForce { .. })
        ));
        let random = JobRequest {
            order: Order::Random { seed: 1 },
            ..request(&large)
        };
        assert!(matches!(
            ScanJob::prepare(&random, |_| {}),
            Err(JobError::RandomWalk)
        ));
        let budget = JobRequest {
            max_queries: Some(5),
            ..request(&small)
        };
        assert!(matches!(
            ScanJob::prepare(&budget, |_| {}),
            Err(JobError::BudgetWithoutWalk)
        ));
        assert!(matches!(
            ScanJob::prepare(&request(&[]), |_| {}),
            Err(JobError::NoTargets)
        ));
    }

    #[test]
    fn done_count_counts_only_positions_below_the_total() {
        let done = Checkpoint::from_parts(3, [(5, 6), (9, 20)], 0);
        let job =
            |targets: &str| ScanJob::prepare(&request(&[targets.to_string()]), |_| {}).unwrap();
        // 0..3, 5..=6, and 9 of 9..=20 below a total of 10.
        assert_eq!(job("198.18.0.0-198.18.0.9").done_in(&done), 6);
        assert_eq!(job("198.18.0.0-198.18.0.1").done_in(&done), 2);
    }
}
