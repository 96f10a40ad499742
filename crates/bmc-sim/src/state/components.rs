//! The parts of a simulated server that fail on their own: two drives under one RAID1 volume, two
//! DIMMs, two CPUs, two NIC ports (the second never cabled) and the firmware inventory, plus the
//! BMC firmware and BIOS versions every BMC reports ([`SimParts`]). The versions are always
//! served; the component collections only on BMCs made with them (`bmc-sim --components`), so the
//! default fleet costs no more GETs per poll than before. `render/components.rs` serves them; the
//! named faults (`drive-failed`, `raid-degraded`, `nic-link-down`, `firmware-mismatch`) break them.
//! Over IPMI a failed drive shows as the chassis status's drive-fault bit.

use super::Health;

/// The BMC firmware version every simulated BMC runs unless told otherwise.
pub const BMC_FIRMWARE: &str = "2.10.sim";
/// The BIOS version every simulated BMC runs unless told otherwise.
pub const BIOS_VERSION: &str = "SIM-BIOS 1.0";
/// The NIC firmware version in the firmware inventory.
pub const NIC_FIRMWARE: &str = "22.31.6";
/// The versions the `firmware-mismatch` fault puts on a BMC.
pub const MISMATCHED: (&str, &str) = ("2.11.sim", "SIM-BIOS 1.1");

/// One drive.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDrive {
    pub id: String,
    pub health: Health,
    pub failure_predicted: bool,
    pub life_left_percent: f64,
    pub capacity_bytes: u64,
}

/// One RAID volume over the drives.
#[derive(Debug, Clone, PartialEq)]
pub struct SimVolume {
    pub id: String,
    pub raid_type: &'static str,
    pub health: Health,
    /// Redfish `Status.State`: `Enabled`, or `Degraded` when a member is lost.
    pub state: &'static str,
    pub capacity_bytes: u64,
}

/// One DIMM, CPU or other part that is only healthy or not.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPart {
    pub id: String,
    pub health: Health,
}

/// One NIC port.
#[derive(Debug, Clone, PartialEq)]
pub struct SimNic {
    pub id: String,
    /// `Some(true)` LinkUp, `Some(false)` LinkDown, `None` NoLink (never cabled).
    pub link: Option<bool>,
    pub speed_mbps: u32,
}

/// A simulated BMC's parts and versions.
#[derive(Debug, Clone, PartialEq)]
pub struct SimParts {
    /// The component collections are served (`Storage`, `Memory`, `Processors`,
    /// `EthernetInterfaces`, `UpdateService/FirmwareInventory`).
    pub served: bool,
    /// `Managers/1` `FirmwareVersion`.
    pub bmc_firmware: String,
    /// `Systems/1` `BiosVersion`.
    pub bios_version: String,
    /// The NIC's entry in the firmware inventory (seen nowhere else: only a firmware inventory
    /// read shows a change of it).
    pub nic_firmware: String,
    pub drives: Vec<SimDrive>,
    pub volume: SimVolume,
    pub dimms: Vec<SimPart>,
    pub cpus: Vec<SimPart>,
    pub nics: Vec<SimNic>,
}

impl SimParts {
    /// The worst health of the drives, the volume, the DIMMs and the CPUs: what a real BMC rolls
    /// up into its system's `Status.HealthRollup` (a failed drive makes the system `Critical`).
    /// NIC link state is not health, as on real BMCs.
    pub fn rollup(&self) -> Health {
        let rank = |h: Health| match h {
            Health::Ok | Health::Unknown => 0,
            Health::Warning => 1,
            Health::Critical => 2,
        };
        self.drives
            .iter()
            .map(|d| {
                if d.failure_predicted && d.health == Health::Ok {
                    Health::Warning
                } else {
                    d.health
                }
            })
            .chain([self.volume.health])
            .chain(self.dimms.iter().chain(&self.cpus).map(|p| p.health))
            .max_by_key(|h| rank(*h))
            .filter(|h| rank(*h) > 0)
            .unwrap_or(Health::Ok)
    }

    /// A healthy server; `served` says whether its component collections are served.
    pub fn new(served: bool) -> SimParts {
        let drive = |id: &str| SimDrive {
            id: id.into(),
            health: Health::Ok,
            failure_predicted: false,
            life_left_percent: 97.0,
            capacity_bytes: 960_197_124_096,
        };
        let part = |id: &str| SimPart {
            id: id.into(),
            health: Health::Ok,
        };
        SimParts {
            served,
            bmc_firmware: BMC_FIRMWARE.into(),
            bios_version: BIOS_VERSION.into(),
            nic_firmware: NIC_FIRMWARE.into(),
            drives: vec![drive("Disk0"), drive("Disk1")],
            volume: SimVolume {
                id: "1".into(),
                raid_type: "RAID1",
                health: Health::Ok,
                state: "Enabled",
                capacity_bytes: 960_197_124_096,
            },
            dimms: vec![part("DIMM_A1"), part("DIMM_B1")],
            cpus: vec![part("CPU1"), part("CPU2")],
            nics: vec![
                SimNic {
                    id: "NIC1".into(),
                    link: Some(true),
                    speed_mbps: 25_000,
                },
                SimNic {
                    id: "NIC2".into(),
                    link: None,
                    speed_mbps: 25_000,
                },
            ],
        }
    }

    /// Everything healthy again and the usual versions, served as before.
    pub fn heal(&mut self) {
        *self = SimParts::new(self.served);
    }

    /// The first drive fails; the volume over it is degraded.
    pub fn fail_drive(&mut self) {
        if let Some(d) = self.drives.first_mut() {
            d.health = Health::Critical;
        }
        self.degrade_volume();
    }

    /// The volume is degraded (one mirror half lost).
    pub fn degrade_volume(&mut self) {
        self.volume.health = Health::Warning;
        self.volume.state = "Degraded";
    }

    /// The first port, up until now, loses its link.
    pub fn lose_link(&mut self) {
        if let Some(n) = self.nics.first_mut() {
            n.link = Some(false);
        }
    }

    /// Another BMC firmware and BIOS version than the rest of the fleet.
    pub fn mismatch_firmware(&mut self) {
        self.bmc_firmware = MISMATCHED.0.into();
        self.bios_version = MISMATCHED.1.into();
    }

    /// A drive has failed: the IPMI chassis status reports a drive fault (byte 3 bit 2).
    pub fn drive_fault(&self) -> bool {
        self.drives.iter().any(|d| d.health == Health::Critical)
    }

    /// The firmware inventory: (id, name, version, updateable).
    pub fn firmware(&self) -> [(&'static str, &'static str, &str, bool); 3] {
        [
            ("BMC", "BMC Firmware", self.bmc_firmware.as_str(), true),
            ("BIOS", "System BIOS", self.bios_version.as_str(), true),
            ("NIC", "NIC Firmware", self.nic_firmware.as_str(), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_breaks_one_thing_and_heal_undoes_it() {
        let mut p = SimParts::new(true);
        p.fail_drive();
        assert_eq!(p.drives[0].health, Health::Critical);
        assert_eq!(p.drives[1].health, Health::Ok);
        assert_eq!(p.volume.state, "Degraded");
        assert!(p.drive_fault());
        p.lose_link();
        assert_eq!(p.nics[0].link, Some(false));
        assert_eq!(p.nics[1].link, None, "the uncabled port stays uncabled");
        p.mismatch_firmware();
        assert_eq!(p.firmware()[0].2, MISMATCHED.0);
        p.heal();
        assert_eq!(p, SimParts::new(true));
    }
}
