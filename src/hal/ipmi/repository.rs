//! Reading a BMC's SDR repository over a session: Get SDR Repository Info (its last-addition and
//! last-erase timestamps key the per-BMC cache), Reserve SDR Repository, and every record read in
//! chunks (header first, then the body in pieces of at most 16 bytes, smaller after cc 0xca), as
//! ipmitool does; ipmi_sim answers whole-record reads with stray bytes or cc 0xca.

use super::decode::sdr::{
    SdrRecord, parse_get_sdr, parse_repository, parse_repository_info, parse_reservation,
    record_len,
};
use super::session::Session;
use crate::hal::HalError;

/// The decoded repository and the key it was read under.
#[derive(Debug, Clone)]
pub struct SdrCache {
    pub key: (u16, u32, u32),
    pub records: Vec<SdrRecord>,
}

const NETFN_STORAGE: u8 = 0x0a;
/// Completion codes: reservation cancelled; cannot return that many bytes.
const CC_RESERVATION_CANCELLED: u8 = 0xc5;
const CC_CANNOT_RETURN: u8 = 0xca;
/// A repository larger than this is not a BMC's (guards against a record-id loop).
const MAX_RECORDS: usize = 4096;

fn protocol(bmc: &str, detail: String) -> HalError {
    HalError::Protocol {
        bmc: bmc.to_string(),
        detail,
    }
}

/// The repository's cache key (record count, last addition, last erase).
pub async fn cache_key(s: &mut Session, bmc: &str) -> Result<(u16, u32, u32), HalError> {
    let d = s.command(NETFN_STORAGE, 0x20, &[]).await?;
    parse_repository_info(&d)
        .map(|i| i.cache_key())
        .map_err(|e| protocol(bmc, e.to_string()))
}

async fn reserve(s: &mut Session, bmc: &str) -> Result<u16, HalError> {
    let d = s.command(NETFN_STORAGE, 0x22, &[]).await?;
    parse_reservation(&d).map_err(|e| protocol(bmc, e.to_string()))
}

/// Reads `len` bytes of record `id` at `offset`; returns (next record id, bytes).
async fn get_sdr(
    s: &mut Session,
    bmc: &str,
    res: u16,
    id: u16,
    offset: u8,
    len: u8,
) -> Result<Result<(u16, Vec<u8>), u8>, HalError> {
    let [r0, r1] = res.to_le_bytes();
    let [i0, i1] = id.to_le_bytes();
    let r = s
        .request(NETFN_STORAGE, 0x23, &[r0, r1, i0, i1, offset, len])
        .await?;
    if r.cc != 0 {
        return Ok(Err(r.cc));
    }
    let (next, bytes) = parse_get_sdr(&r.data).map_err(|e| protocol(bmc, e.to_string()))?;
    Ok(Ok((next, bytes.to_vec())))
}

/// Reads every record, chunk by chunk.
pub async fn read_all(s: &mut Session, bmc: &str) -> Result<Vec<Vec<u8>>, HalError> {
    let mut res = reserve(s, bmc).await?;
    let mut records = Vec::new();
    let mut id: u16 = 0;
    let mut chunk: u8 = 16;
    let mut restarts = 0;
    while id != 0xffff {
        if records.len() >= MAX_RECORDS {
            return Err(protocol(
                bmc,
                format!("SDR repository has more than {MAX_RECORDS} records"),
            ));
        }
        let (next, header) = match get_sdr(s, bmc, res, id, 0, 5).await? {
            Ok(v) => v,
            Err(CC_RESERVATION_CANCELLED) if restarts < 5 => {
                restarts += 1;
                res = reserve(s, bmc).await?;
                continue;
            }
            Err(cc) => {
                return Err(protocol(
                    bmc,
                    format!("Get SDR {id:#06x} header: cc {cc:#04x}"),
                ));
            }
        };
        let total = record_len(&header)
            .ok_or_else(|| protocol(bmc, format!("SDR {id:#06x}: bad header")))?;
        let mut record = header;
        record.truncate(5);
        while record.len() < total {
            let offset = u8::try_from(record.len())
                .map_err(|_| protocol(bmc, format!("SDR {id:#06x} longer than 255 bytes")))?;
            let want = chunk.min(u8::try_from(total - record.len()).unwrap_or(chunk));
            match get_sdr(s, bmc, res, id, offset, want).await? {
                Ok((_, bytes)) if !bytes.is_empty() => {
                    let take = bytes.len().min(total - record.len());
                    record.extend_from_slice(&bytes[..take]);
                }
                Ok(_) => {
                    return Err(protocol(
                        bmc,
                        format!("SDR {id:#06x}: empty chunk at {offset}"),
                    ));
                }
                Err(CC_CANNOT_RETURN) if chunk > 4 => chunk /= 2,
                Err(CC_RESERVATION_CANCELLED) if restarts < 5 => {
                    restarts += 1;
                    res = reserve(s, bmc).await?;
                    record.truncate(5);
                }
                Err(cc) => {
                    return Err(protocol(
                        bmc,
                        format!("Get SDR {id:#06x} at {offset}: cc {cc:#04x}"),
                    ));
                }
            }
        }
        records.push(record);
        if next == id {
            return Err(protocol(
                bmc,
                format!("SDR {id:#06x} names itself as the next record"),
            ));
        }
        id = next;
    }
    Ok(records)
}

/// The cached repository when its key is unchanged, else a fresh read.
pub async fn refresh(
    s: &mut Session,
    bmc: &str,
    cached: Option<SdrCache>,
) -> Result<SdrCache, HalError> {
    let key = cache_key(s, bmc).await?;
    if let Some(c) = cached.filter(|c| c.key == key) {
        return Ok(c);
    }
    let raw = read_all(s, bmc).await?;
    let (records, warnings) = parse_repository(&raw);
    for w in warnings {
        tracing::warn!(bmc, problem = %w, "skipped an SDR record");
    }
    tracing::debug!(bmc, records = records.len(), "SDR repository read");
    Ok(SdrCache { key, records })
}
