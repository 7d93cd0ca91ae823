//! A scenario's IPv6 service: the lab's public network given IPv6 beside
//! IPv4 ([`crate::topology::Topology::add_ipv6`]), an IPv6 echo responder
//! on each server, who holds the IPv6 service address (sampled every
//! [`PERIOD`]), and a second client asking it over IPv6. The lab's own
//! IPv4 service address, owners and client stay as they are: a scenario
//! with this is a mixed IPv4 + IPv6 service. Heartbeats stay on IPv4.

use std::net::IpAddr;
use std::time::Instant;

use failover_host::config::cli::Program;

use crate::daemons::Daemon;
use crate::observe::NaCapture;
use crate::service::{service_runs, Prober, Responder};
use crate::topology::{PUBLIC_BRIDGE, SERVICE, SERVICE6};

use super::{Lab, Owner, Owners, PERIOD};

/// The IPv6 side of a scenario; see the module documentation.
#[derive(Debug)]
pub struct Ipv6Side {
    /// Who holds [`SERVICE6`].
    pub owners: Owners,
    /// The client asking [`SERVICE6`] every [`PERIOD`], once started.
    pub client: Option<Prober>,
    /// The unsolicited neighbour advertisements for [`SERVICE6`] on the
    /// public bridge.
    pub na: NaCapture,
    _responders: (Responder, Responder),
}

impl Ipv6Side {
    /// The service address as the daemons are given it on `ifname`:
    /// `pub0:2001:db8::10/128`.
    pub fn triplet(ifname: &str) -> String {
        format!("{ifname}:{SERVICE6}/128")
    }

    /// The servers that answered the IPv6 client, in runs.
    pub fn runs(&self) -> Vec<String> {
        let probes = self.client.as_ref().map(Prober::probes).unwrap_or_default();
        service_runs(&probes).into_iter().map(|r| r.0).collect()
    }
}

impl Lab {
    /// Gives the lab IPv6 ([`Ipv6Side`]): addresses, responders, owners.
    pub fn ipv6(&self) -> Ipv6Side {
        self.t
            .add_ipv6()
            .expect("IPv6 addresses on the public network");
        Ipv6Side {
            owners: Owners::start_for(&self.t, IpAddr::V6(SERVICE6), PERIOD)
                .expect("IPv6 ownership samplers"),
            client: None,
            na: NaCapture::start(self.t.switch.ns(), PUBLIC_BRIDGE, SERVICE6).expect("NA capture"),
            _responders: (
                Responder::start_v6(&self.t.primary.ns, "primary").expect("responder"),
                Responder::start_v6(&self.t.secondary.ns, "secondary").expect("responder"),
            ),
        }
    }

    /// Starts both daemons serving the IPv6 service address too, and waits
    /// for the steady state on both families: the primary alone holds both
    /// addresses, both clients are answered by it.
    pub fn start_both_ipv6(&mut self, v6: &mut Ipv6Side) -> (Daemon, Daemon) {
        self.start_both_ipv6_with(v6, &[], &[])
    }

    /// [`Lab::start_both_ipv6`] with `hb_extra` arguments for `heartbeatd`
    /// and `fo_extra` for `failoverd`.
    pub fn start_both_ipv6_with(
        &mut self,
        v6: &mut Ipv6Side,
        hb_extra: &[&str],
        fo_extra: &[&str],
    ) -> (Daemon, Daemon) {
        let ifname = self.t.primary.public_if;
        let services = [format!("{ifname}:{SERVICE}"), Ipv6Side::triplet(ifname)];
        let (hb, fo) = self.start_serving(&services, hb_extra, fo_extra);
        self.steady(&hb, &fo);
        self.steady6(v6, &hb, &fo);
        (hb, fo)
    }

    /// Starts both daemons serving the IPv6 service address alone (the
    /// lab's IPv4 one is left out: its owners and client see nobody), and
    /// waits until the primary alone holds it, `failoverd` hears the
    /// primary and the IPv6 client is answered by the primary.
    pub fn start_both_ipv6_only(&mut self, v6: &mut Ipv6Side) -> (Daemon, Daemon) {
        let services = [Ipv6Side::triplet(self.t.primary.public_if)];
        let (hb, fo) = self.start_serving(&services, &[], &[]);
        self.wait_hears_primary(&fo, &[&hb, &fo]);
        self.steady6(v6, &hb, &fo);
        (hb, fo)
    }

    fn start_serving(
        &self,
        services: &[String],
        hb_extra: &[&str],
        fo_extra: &[&str],
    ) -> (Daemon, Daemon) {
        let hb = self
            .start_program_serving(Program::Heartbeatd, hb_extra, services)
            .expect("start heartbeatd");
        self.wait("heartbeatd to start", &[&hb], || hb.logged("started"));
        let fo = self
            .start_program_serving(Program::Failoverd, fo_extra, services)
            .expect("start failoverd");
        self.wait("failoverd to start", &[&fo], || fo.logged("started"));
        (hb, fo)
    }

    /// The IPv6 steady state: the primary alone holds [`SERVICE6`]; then
    /// the IPv6 client starts and waits until the primary answers it.
    fn steady6(&self, v6: &mut Ipv6Side, hb: &Daemon, fo: &Daemon) {
        self.wait_owner6(v6, Owner::Primary, &[hb, fo]);
        v6.client = Some(Prober::start(&self.t.client, SERVICE6, PERIOD).expect("prober"));
        self.wait_served6(v6, "primary", Instant::now(), &[hb, fo]);
    }

    /// Waits until exactly `owner` holds the IPv6 service address.
    pub fn wait_owner6(&self, v6: &Ipv6Side, owner: Owner, logs: &[&Daemon]) {
        self.wait(&format!("{owner:?} alone to hold {SERVICE6}"), logs, || {
            v6.owners.are(owner)
        });
    }

    /// Waits until `who` answers an IPv6 probe sent at or after `since`.
    pub fn wait_served6(&self, v6: &Ipv6Side, who: &str, since: Instant, logs: &[&Daemon]) {
        self.wait(
            &format!("the IPv6 client to be served by the {who}"),
            logs,
            || {
                v6.client.as_ref().is_some_and(|c| {
                    c.probes()
                        .iter()
                        .any(|p| p.sent >= since && p.answer.as_ref().is_some_and(|a| a.1 == who))
                })
            },
        );
    }
}
