//! IPMI LAN message framing inside the IPMI-message payload (IPMI 2.0 section
//! 13.8): requests `rsAddr netFn/rsLUN chk1 rqAddr rqSeq/rqLUN cmd data chk2`
//! and responses `rqAddr netFn/rqLUN chk1 rsAddr rqSeq/rsLUN cmd cc data chk2`,
//! with two's-complement checksums. Both directions are encoded and decoded
//! (a client encodes requests and decodes responses; a BMC the reverse).

/// The BMC's slave address.
pub const BMC_ADDR: u8 = 0x20;
/// Software ID of a remote console (requester address).
pub const REMOTE_CONSOLE_ADDR: u8 = 0x81;

/// Errors of the message module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is {0} bytes, at least {1} are needed")]
    Truncated(usize, usize),
    #[error("header checksum is wrong (bytes sum to {0:#04x}, not 0)")]
    BadHeaderChecksum(u8),
    #[error("data checksum is wrong (bytes sum to {0:#04x}, not 0)")]
    BadDataChecksum(u8),
    #[error("netFn {0:#04x} is odd: this is a response, not a request")]
    NotARequest(u8),
    #[error("netFn {0:#04x} is even: this is a request, not a response")]
    NotAResponse(u8),
}

/// Two's-complement checksum: the byte that makes `bytes` sum to 0 mod 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// Frame `header3 chk1 body chk2`; shared by both directions.
fn frame(header: [u8; 2], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&header);
    out.push(checksum(&header));
    out.extend_from_slice(body);
    out.push(checksum(body));
    out
}

/// Check both checksums; returns (header bytes 0..2, body without chk2).
fn unframe(bytes: &[u8], min: usize) -> Result<(&[u8], &[u8]), MessageError> {
    if bytes.len() < min {
        return Err(MessageError::Truncated(bytes.len(), min));
    }
    let (header, rest) = bytes.split_at(3);
    if sum(header) != 0 {
        return Err(MessageError::BadHeaderChecksum(sum(header)));
    }
    if sum(rest) != 0 {
        return Err(MessageError::BadDataChecksum(sum(rest)));
    }
    let body = rest.split_last().map(|(_, b)| b).unwrap_or_default();
    Ok((&header[..2], body))
}

/// An IPMI request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub rs_addr: u8,
    /// Network function (6 bits, even for requests).
    pub net_fn: u8,
    pub rs_lun: u8,
    pub rq_addr: u8,
    /// Requester sequence number (6 bits).
    pub rq_seq: u8,
    pub rq_lun: u8,
    pub cmd: u8,
    pub data: Vec<u8>,
}

impl Request {
    /// A request from a remote console (0x81, LUN 0) to the BMC (0x20, LUN 0).
    pub fn new(net_fn: u8, cmd: u8, rq_seq: u8, data: Vec<u8>) -> Self {
        Self {
            rs_addr: BMC_ADDR,
            net_fn,
            rs_lun: 0,
            rq_addr: REMOTE_CONSOLE_ADDR,
            rq_seq,
            rq_lun: 0,
            cmd,
            data,
        }
    }

    /// Encode; netFn and rqSeq are masked to 6 bits, LUNs to 2.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![
            self.rq_addr,
            (self.rq_seq << 2) | (self.rq_lun & 3),
            self.cmd,
        ];
        body.extend_from_slice(&self.data);
        frame(
            [self.rs_addr, (self.net_fn << 2) | (self.rs_lun & 3)],
            &body,
        )
    }

    /// Decode a request, verifying both checksums.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let (h, body) = unframe(bytes, 7)?;
        let net_fn = h[1] >> 2;
        if net_fn & 1 != 0 {
            return Err(MessageError::NotARequest(net_fn));
        }
        let [rq_addr, seq_lun, cmd, data @ ..] = body else {
            return Err(MessageError::Truncated(bytes.len(), 7));
        };
        Ok(Self {
            rs_addr: h[0],
            net_fn,
            rs_lun: h[1] & 3,
            rq_addr: *rq_addr,
            rq_seq: seq_lun >> 2,
            rq_lun: seq_lun & 3,
            cmd: *cmd,
            data: data.to_vec(),
        })
    }
}

/// An IPMI response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub rq_addr: u8,
    /// Network function of the response (request netFn + 1, odd).
    pub net_fn: u8,
    pub rq_lun: u8,
    pub rs_addr: u8,
    pub rq_seq: u8,
    pub rs_lun: u8,
    pub cmd: u8,
    /// Completion code (0 = success).
    pub completion_code: u8,
    pub data: Vec<u8>,
}

impl Response {
    /// The response to `req` with completion code `cc` and `data`.
    pub fn for_request(req: &Request, cc: u8, data: Vec<u8>) -> Self {
        Self {
            rq_addr: req.rq_addr,
            net_fn: req.net_fn | 1,
            rq_lun: req.rq_lun,
            rs_addr: req.rs_addr,
            rq_seq: req.rq_seq,
            rs_lun: req.rs_lun,
            cmd: req.cmd,
            completion_code: cc,
            data,
        }
    }

    /// This response answers `req` (netFn, command and rqSeq match).
    pub fn answers(&self, req: &Request) -> bool {
        self.net_fn == (req.net_fn | 1) && self.cmd == req.cmd && self.rq_seq == (req.rq_seq & 0x3f)
    }

    /// Encode; netFn and rqSeq are masked to 6 bits, LUNs to 2.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![
            self.rs_addr,
            (self.rq_seq << 2) | (self.rs_lun & 3),
            self.cmd,
            self.completion_code,
        ];
        body.extend_from_slice(&self.data);
        frame(
            [self.rq_addr, (self.net_fn << 2) | (self.rq_lun & 3)],
            &body,
        )
    }

    /// Decode a response, verifying both checksums.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let (h, body) = unframe(bytes, 8)?;
        let net_fn = h[1] >> 2;
        if net_fn & 1 == 0 {
            return Err(MessageError::NotAResponse(net_fn));
        }
        let [rs_addr, seq_lun, cmd, cc, data @ ..] = body else {
            return Err(MessageError::Truncated(bytes.len(), 8));
        };
        Ok(Self {
            rq_addr: h[0],
            net_fn,
            rq_lun: h[1] & 3,
            rs_addr: *rs_addr,
            rq_seq: seq_lun >> 2,
            rs_lun: seq_lun & 3,
            cmd: *cmd,
            completion_code: *cc,
            data: data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests;
