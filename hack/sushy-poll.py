"""Polls Redfish BMCs the way OpenStack Ironic's sushy client does, for hack/bench-redfish-peers.sh.

usage: sushy-poll.py PORT USER PASSWORD PAR IP...
Each BMC: a new sushy.Sushy (session auth, as Ironic's default "auto" does), the system's power
state, the chassis' thermal (temperatures, fans) and power (PSUs). sushy has no
explicit logout; its sessions are left to expire on the BMC, as with Ironic.
PAR BMCs at a time in a thread pool. Prints how many BMCs answered.
"""
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import sushy
import urllib3

warnings.filterwarnings("ignore")
urllib3.disable_warnings()

port, user, password, par = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def poll(ip):
    root = sushy.Sushy(f"https://{ip}:{port}/redfish/v1", username=user, password=password, verify=False)
    system = root.get_system(root.get_system_collection().members_identities[0])
    _ = system.power_state
    chassis = root.get_chassis(root.get_chassis_collection().members_identities[0])
    temps = [(t.name, t.reading_celsius) for t in chassis.thermal.temperatures]
    fans = [(f.name, f.reading) for f in chassis.thermal.fans]
    # sushy's Power model has no PowerControl (consumed watts): the PSUs are what it offers.
    psus = [(p.name, p.status.health, p.power_capacity_watts) for p in chassis.power.power_supplies]
    return bool(temps and fans and psus)


with ThreadPoolExecutor(max_workers=par) as pool:
    ok = sum(1 for r in pool.map(poll, sys.argv[5:]) if r)
print(f"{ok} of {len(sys.argv) - 5} BMCs answered", file=sys.stderr)
