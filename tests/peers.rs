//! Integration tests against real peers (built with `--features peers`): OpenIPMI's ipmi_sim and
//! ipmitool, sushy-static serving DMTF mockups, curl, nats-server with JetStream, promtool, tmux,
//! systemd-analyze and setpriv (README's install run as the unit's user). Each test starts what it
//! needs on 127.0.0.0/8 and stops it by PID. The ipmi_sim recipe (`ipmi_sim/`) and the
//! ipmi_exporter config (`ipmi-exporter/`) live beside these files.

mod ha;
mod install;
mod ipmi;
mod ipmi_components;
mod ipmi_sel;
mod ipmi_sim_capture;
mod log_handover;
mod nats;
mod nats_accounts;
mod nats_pins;
mod poll_once_tty;
mod profile_sharing;
mod promtool;
mod redfish;
mod redfish_components;
mod redfish_logs;
mod redfish_sensors;
mod secrets;
mod service_unit;
mod views;
