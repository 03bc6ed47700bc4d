//! Owns Argon2id password hashing and verification on a bounded pool of dedicated OS threads.
//!
//! Each worker thread owns one Argon2 memory buffer that it reuses, so the memory spent on
//! hashing is `workers × m_kib` KiB however many sign-ins arrive at once, and at most
//! `workers` hashes run concurrently. Jobs wait in a bounded queue; when it is full the
//! caller gets [`AuthError::Busy`] at once instead of piling up work (and memory) without
//! bound. Dedicated threads are used rather than tokio's blocking pool because that pool
//! grows to hundreds of threads under load, which is exactly the memory blow-up this avoids.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, PasswordHash, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroize;

use crate::auth::AuthError;
use crate::crypto::Secret;

/// Length of the raw Argon2 output stored in new hashes.
pub const OUTPUT_LEN: usize = 32;
/// Length of the random salt of new hashes.
pub const SALT_LEN: usize = 16;
/// Largest memory cost accepted, for the pool and for stored hashes (256 MiB). A stored hash
/// asking for more is refused rather than letting one database row exhaust the host.
pub const MAX_M_KIB: u32 = 256 * 1024;
/// Largest time cost accepted; far above any sensible policy, low enough to stop a tampered
/// row from pinning a worker for minutes.
pub const MAX_T: u32 = 64;
/// Largest parallelism accepted. Lanes run sequentially on the worker thread, so this bounds
/// nothing but the format; it is kept small to refuse nonsense.
pub const MAX_P: u32 = 16;
/// Passwords longer than this many bytes are refused before hashing. The policy allows 256
/// characters (at most 1,024 bytes of UTF-8); this stops megabyte bodies from costing work.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost in KiB.
    pub m_kib: u32,
    /// Number of passes over memory.
    pub t: u32,
    /// Number of lanes.
    pub p: u32,
}

impl Default for HashParams {
    /// OWASP's recommended Argon2id configuration: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl HashParams {
    fn to_argon2(self) -> Result<argon2::Params, AuthError> {
        check_limits(self.m_kib, self.t, self.p)?;
        argon2::Params::new(self.m_kib, self.t, self.p, Some(OUTPUT_LEN))
            .map_err(|e| AuthError::Malformed(format!("invalid Argon2 parameters: {e}")))
    }
}

/// Outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the stored hash.
    pub ok: bool,
    /// The password matched but the stored hash was made with other parameters than the
    /// pool's; the caller should store a fresh hash. Always false when `ok` is false.
    pub needs_rehash: bool,
}

enum Job {
    Hash {
        password: Secret<String>,
        salt: [u8; SALT_LEN],
        reply: oneshot::Sender<Result<String, AuthError>>,
    },
    Verify {
        password: Secret<String>,
        phc: String,
        reply: oneshot::Sender<Result<Verified, AuthError>>,
    },
}

/// A bounded pool of Argon2id workers. Keep one per process (in an `Arc`).
pub struct PasswordHasher {
    jobs: SyncSender<Job>,
    params: HashParams,
    dummy_phc: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Starts `workers` threads and a queue holding up to `queue` waiting jobs. With
    /// `queue` 0 a job is accepted only if a worker is idle at that instant.
    ///
    /// Computes the dummy hash for [`PasswordHasher::verify_dummy`] on the calling thread,
    /// so this blocks for one hash; call it at start-up, not on a request path.
    pub fn new(params: HashParams, workers: usize, queue: usize) -> Result<Self, AuthError> {
        if workers == 0 {
            return Err(AuthError::Malformed(
                "the password hashing pool needs at least one worker".into(),
            ));
        }
        let argon_params = params.to_argon2()?;
        let blocks = argon_params.block_count();

        // The dummy hash is of a random password nobody knows, so it can never verify; only
        // its cost matters, and it has the pool's current parameters.
        let dummy_phc = {
            let mut memory = vec![Block::new(); blocks];
            let mut pw = [0u8; 32];
            random(&mut pw)?;
            let password = Secret::new(hex::encode(pw));
            pw.zeroize();
            let mut salt = [0u8; SALT_LEN];
            random(&mut salt)?;
            let phc = hash_with(&argon_params, &password, &salt, &mut memory);
            wipe(&mut memory);
            phc?
        };

        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            let worker_params = argon_params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker_loop(&rx, &worker_params))
                .map_err(|e| AuthError::Hash(format!("cannot start hashing thread: {e}")))?;
        }
        Ok(Self {
            jobs: tx,
            params,
            dummy_phc,
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes a password with a fresh random salt and returns the PHC string.
    pub async fn hash(&self, password: Secret<String>) -> Result<String, AuthError> {
        check_password_len(&password)?;
        let mut salt = [0u8; SALT_LEN];
        random(&mut salt)?;
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Hash {
            password,
            salt,
            reply,
        })?;
        rx.await.map_err(|_| pool_stopped())?
    }

    /// Verifies a password against a stored PHC string, using the parameters in that string.
    pub async fn verify(&self, password: Secret<String>, phc: &str) -> Result<Verified, AuthError> {
        check_password_len(&password)?;
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            phc: phc.to_owned(),
            reply,
        })?;
        rx.await.map_err(|_| pool_stopped())?
    }

    /// Spends the same work as a real verification for a user that does not exist, so an
    /// unknown user name and a wrong password cannot be told apart by timing.
    ///
    /// Returns the same errors as [`PasswordHasher::verify`] (notably [`AuthError::Busy`]) so
    /// the caller answers both cases identically under load too.
    pub async fn verify_dummy(&self, password: Secret<String>) -> Result<(), AuthError> {
        self.verify(password, &self.dummy_phc).await.map(|_| ())
    }

    fn submit(&self, job: Job) -> Result<(), AuthError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => AuthError::Busy,
            TrySendError::Disconnected(_) => pool_stopped(),
        })
    }
}

fn pool_stopped() -> AuthError {
    AuthError::Hash("the password hashing pool has stopped".into())
}

fn random(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|_| AuthError::Random)
}

fn check_password_len(password: &Secret<String>) -> Result<(), AuthError> {
    if password.expose().len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::Malformed(format!(
            "password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn check_limits(m_kib: u32, t: u32, p: u32) -> Result<(), AuthError> {
    if m_kib > MAX_M_KIB {
        return Err(AuthError::Malformed(format!(
            "Argon2 memory cost {m_kib} KiB is above the {MAX_M_KIB} KiB limit"
        )));
    }
    if t > MAX_T {
        return Err(AuthError::Malformed(format!(
            "Argon2 time cost {t} is above the limit of {MAX_T}"
        )));
    }
    if p > MAX_P {
        return Err(AuthError::Malformed(format!(
            "Argon2 parallelism {p} is above the limit of {MAX_P}"
        )));
    }
    Ok(())
}

/// A worker gives its Argon2 memory back after this long without work, so an idle server stays
/// small; under load the same buffer is reused from one hash to the next.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(30);

fn worker_loop(rx: &Mutex<Receiver<Job>>, params: &argon2::Params) {
    let base_blocks = params.block_count();
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job; a poisoned lock still guards
        // a usable receiver, since receiving cannot leave it half-updated.
        let job = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.recv_timeout(IDLE_RELEASE)
        };
        let job = match job {
            Ok(job) => job,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                wipe(&mut memory);
                memory = Vec::new();
                continue;
            }
            // Every sender is gone: the pool was dropped.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if memory.len() < base_blocks {
            memory.resize(base_blocks, Block::new());
        }
        match job {
            Job::Hash {
                password,
                salt,
                reply,
            } => {
                let result = hash_with(params, &password, &salt, &mut memory);
                drop(password);
                // The caller may have given up waiting; nothing to do then.
                let _ = reply.send(result);
            }
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                let result = verify_with(params, &password, &phc, &mut memory);
                drop(password);
                let _ = reply.send(result);
            }
        }
        wipe(&mut memory);
        // A stored hash with a larger cost grew the buffer; give the memory back so the
        // steady-state footprint stays workers × pool cost.
        if memory.len() > base_blocks {
            memory.truncate(base_blocks);
            memory.shrink_to_fit();
        }
    }
}

/// Argon2 memory holds values derived from the password; clear it between jobs.
fn wipe(memory: &mut [Block]) {
    for block in memory.iter_mut() {
        block.zeroize();
    }
}

fn hash_with(
    params: &argon2::Params,
    password: &Secret<String>,
    salt: &[u8; SALT_LEN],
    memory: &mut [Block],
) -> Result<String, AuthError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    let blocks = params.block_count();
    let mem = memory
        .get_mut(..blocks)
        .ok_or_else(|| AuthError::Hash("hashing buffer too small".into()))?;
    argon
        .hash_password_into_with_memory(password.expose().as_bytes(), salt, &mut out, mem)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| AuthError::Hash(e.to_string()))?,
        salt: Some(Salt::new(salt).map_err(|e| AuthError::Hash(e.to_string()))?),
        hash: Some(Output::new(&out).map_err(|e| AuthError::Hash(e.to_string()))?),
    };
    out.zeroize();
    Ok(phc.to_string())
}

fn verify_with(
    pool: &argon2::Params,
    password: &Secret<String>,
    phc: &str,
    memory: &mut Vec<Block>,
) -> Result<Verified, AuthError> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| AuthError::Malformed(format!("stored password hash: {e}")))?;
    if parsed.algorithm != ARGON2ID_IDENT {
        return Err(AuthError::Malformed(format!(
            "stored password hash uses `{}`; only argon2id is accepted",
            parsed.algorithm
        )));
    }
    if parsed.version != Some(Version::V0x13.into()) {
        return Err(AuthError::Malformed(
            "stored password hash is not Argon2 version 19".into(),
        ));
    }
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(AuthError::Malformed(
            "stored password hash has no salt or no hash".into(),
        ));
    };
    let stored = argon2::Params::try_from(&parsed)
        .map_err(|e| AuthError::Malformed(format!("stored password hash: {e}")))?;
    check_limits(stored.m_cost(), stored.t_cost(), stored.p_cost())?;

    let blocks = stored.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mem = memory
        .get_mut(..blocks)
        .ok_or_else(|| AuthError::Hash("hashing buffer too small".into()))?;

    let expected = expected.as_bytes();
    let mut out_buf = [0u8; Output::MAX_LENGTH];
    let out = out_buf
        .get_mut(..expected.len())
        .ok_or_else(|| AuthError::Malformed("stored password hash output too long".into()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, stored.clone());
    argon
        .hash_password_into_with_memory(password.expose().as_bytes(), salt, out, mem)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    let ok: bool = out.ct_eq(expected).into();
    out_buf.zeroize();

    let same_params = stored.m_cost() == pool.m_cost()
        && stored.t_cost() == pool.t_cost()
        && stored.p_cost() == pool.p_cost()
        && expected.len() == OUTPUT_LEN
        && stored.keyid().is_empty()
        && stored.data().is_empty();
    Ok(Verified {
        ok,
        needs_rehash: ok && !same_params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashParams = HashParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    fn pw(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[tokio::test]
    async fn default_params_hash_verify_and_upgrade() {
        let pool = PasswordHasher::new(HashParams::default(), 1, 4).unwrap();
        let phc = pool.hash(pw("correct horse battery")).await.unwrap();
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC: {phc}"
        );
        let parts: Vec<&str> = phc.split('$').collect();
        assert_eq!(parts.len(), 6);
        // 16-byte salt and 32-byte output in unpadded B64.
        assert_eq!(parts[4].len(), 22);
        assert_eq!(parts[5].len(), 43);

        let v = pool
            .verify(pw("correct horse battery"), &phc)
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );

        // A hash made under an older, cheaper policy still verifies and asks for an upgrade.
        let old_pool = PasswordHasher::new(
            HashParams {
                m_kib: 8192,
                t: 1,
                p: 1,
            },
            1,
            1,
        )
        .unwrap();
        let old = old_pool.hash(pw("correct horse battery")).await.unwrap();
        assert!(old.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
        let v = pool
            .verify(pw("correct horse battery"), &old)
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );

        pool.verify_dummy(pw("anything")).await.unwrap();
    }

    #[tokio::test]
    async fn wrong_password_fails() {
        let pool = PasswordHasher::new(SMALL, 1, 4).unwrap();
        let phc = pool.hash(pw("right password")).await.unwrap();
        let v = pool.verify(pw("wrong password"), &phc).await.unwrap();
        assert_eq!(
            v,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
        let v = pool.verify(pw("right password"), &phc).await.unwrap();
        assert!(v.ok && !v.needs_rehash);
    }

    #[tokio::test]
    async fn same_password_gets_different_salts() {
        let pool = PasswordHasher::new(SMALL, 2, 4).unwrap();
        let a = pool.hash(pw("same")).await.unwrap();
        let b = pool.hash(pw("same")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn needs_rehash_when_policy_changes() {
        let old = PasswordHasher::new(SMALL, 1, 1).unwrap();
        let phc = old.hash(pw("pw")).await.unwrap();
        for newer in [
            HashParams {
                m_kib: 128,
                ..SMALL
            },
            HashParams { t: 2, ..SMALL },
            HashParams { p: 2, ..SMALL },
        ] {
            let pool = PasswordHasher::new(newer, 1, 1).unwrap();
            let v = pool.verify(pw("pw"), &phc).await.unwrap();
            assert!(v.ok && v.needs_rehash, "{newer:?}");
            let v = pool.verify(pw("nope"), &phc).await.unwrap();
            assert!(!v.ok && !v.needs_rehash, "{newer:?}");
        }
    }

    #[tokio::test]
    async fn busy_when_queue_full() {
        let pool = PasswordHasher::new(
            HashParams {
                m_kib: 4096,
                t: 2,
                p: 1,
            },
            1,
            1,
        )
        .unwrap();
        // join! polls every future once before waiting, so all eight are submitted back to
        // back while the single worker is still busy with the first.
        let r = tokio::join!(
            pool.hash(pw("a")),
            pool.hash(pw("b")),
            pool.hash(pw("c")),
            pool.hash(pw("d")),
            pool.hash(pw("e")),
            pool.hash(pw("f")),
            pool.hash(pw("g")),
            pool.hash(pw("h")),
        );
        let all = [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7];
        let busy = all.iter().filter(|r| **r == Err(AuthError::Busy)).count();
        let ok = all.iter().filter(|r| r.is_ok()).count();
        assert!(busy >= 1, "expected at least one Busy, got {all:?}");
        assert!(ok >= 1);
        assert_eq!(busy + ok, all.len());
        // The pool recovers once the queue drains.
        assert!(pool.hash(pw("later")).await.is_ok());
    }

    #[tokio::test]
    async fn worker_buffer_grows_for_bigger_stored_hash() {
        let big = PasswordHasher::new(
            HashParams {
                m_kib: 1024,
                ..SMALL
            },
            1,
            1,
        )
        .unwrap();
        let phc = big.hash(pw("pw")).await.unwrap();
        let small = PasswordHasher::new(SMALL, 1, 1).unwrap();
        let v = small.verify(pw("pw"), &phc).await.unwrap();
        assert!(v.ok && v.needs_rehash);
        // And the worker still serves its own size afterwards.
        let own = small.hash(pw("pw")).await.unwrap();
        assert!(small.verify(pw("pw"), &own).await.unwrap().ok);
    }

    #[tokio::test]
    async fn refuses_oversized_or_foreign_hashes() {
        let pool = PasswordHasher::new(SMALL, 1, 1).unwrap();
        let phc = pool.hash(pw("pw")).await.unwrap();
        let huge = phc.replace("m=64,", "m=1000000,");
        assert!(matches!(
            pool.verify(pw("pw"), &huge).await,
            Err(AuthError::Malformed(_))
        ));
        let argon2i = phc.replace("$argon2id$", "$argon2i$");
        assert!(matches!(
            pool.verify(pw("pw"), &argon2i).await,
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            pool.verify(pw("pw"), "not a hash").await,
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            pool.verify(pw("pw"), "").await,
            Err(AuthError::Malformed(_))
        ));
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(
            pool.hash(pw(&long)).await,
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_bad_pool_settings() {
        assert!(PasswordHasher::new(SMALL, 0, 1).is_err());
        assert!(PasswordHasher::new(HashParams { m_kib: 4, ..SMALL }, 1, 1).is_err());
        assert!(
            PasswordHasher::new(
                HashParams {
                    m_kib: MAX_M_KIB + 1,
                    ..SMALL
                },
                1,
                1
            )
            .is_err()
        );
        assert!(PasswordHasher::new(HashParams { t: 0, ..SMALL }, 1, 1).is_err());
    }

    #[test]
    fn debug_shows_no_dummy_hash() {
        let pool = PasswordHasher::new(SMALL, 1, 1).unwrap();
        let dbg = format!("{pool:?}");
        assert!(!dbg.contains("argon2id"), "{dbg}");
    }
}
