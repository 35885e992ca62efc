/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker's inspect types (API 1.41), for typed template execution: dockertypes.h. */
#include <stddef.h>

#include "crowbar/dockertypes.h"

#define T(k)                                                                                       \
  { .kind = (k) }
static const struct cb_gotype t_string = T(CB_GO_STRING), t_int = T(CB_GO_INT),
                              t_bool = T(CB_GO_BOOL), t_any = T(CB_GO_ANY),
                              t_empty = T(CB_GO_EMPTY), t_ptr = T(CB_GO_PTR);
static const struct cb_gotype t_strings = {CB_GO_SLICE, &t_string, NULL, false};
static const struct cb_gotype t_anys = {CB_GO_SLICE, &t_any, NULL, false};
static const struct cb_gotype t_strmap = {CB_GO_MAP, &t_string, NULL, false};
static const struct cb_gotype t_set = {CB_GO_MAP, &t_empty, NULL, false}; /* map[string]struct{} */

/* container.HealthConfig */
static const struct cb_gofield f_healthconfig[] = {
    {"Test", &t_strings},    {"Interval", &t_int}, {"Timeout", &t_int},
    {"StartPeriod", &t_int}, {"Retries", &t_int},  {NULL, NULL},
};
/* Not printed whole: its durations print as Go's Duration (5s), and newer clients add
 * StartInterval. */
static const struct cb_gotype t_healthconfig = {CB_GO_STRUCT, NULL, f_healthconfig, false};
static const struct cb_gotype t_healthconfig_p = {CB_GO_PTR, &t_healthconfig, NULL, false};

/* container.Config */
static const struct cb_gofield f_config[] = {
    {"Hostname", &t_string},
    {"Domainname", &t_string},
    {"User", &t_string},
    {"AttachStdin", &t_bool},
    {"AttachStdout", &t_bool},
    {"AttachStderr", &t_bool},
    {"ExposedPorts", &t_set},
    {"Tty", &t_bool},
    {"OpenStdin", &t_bool},
    {"StdinOnce", &t_bool},
    {"Env", &t_strings},
    {"Cmd", &t_strings},
    {"Healthcheck", &t_healthconfig_p},
    {"ArgsEscaped", &t_bool},
    {"Image", &t_string},
    {"Volumes", &t_set},
    {"WorkingDir", &t_string},
    {"Entrypoint", &t_strings},
    {"NetworkDisabled", &t_bool},
    {"MacAddress", &t_string},
    {"OnBuild", &t_strings},
    {"Labels", &t_strmap},
    {"StopSignal", &t_string},
    {"StopTimeout", &t_ptr},
    {"Shell", &t_strings},
    {NULL, NULL},
};
static const struct cb_gotype t_config = {CB_GO_STRUCT, NULL, f_config, false};
static const struct cb_gotype t_config_p = {CB_GO_PTR, &t_config, NULL, false};

/* types.Health */
static const struct cb_gofield f_health[] = {
    {"Status", &t_string}, {"FailingStreak", &t_int}, {"Log", &t_anys}, {NULL, NULL}};
static const struct cb_gotype t_health = {CB_GO_STRUCT, NULL, f_health, false};
static const struct cb_gotype t_health_p = {CB_GO_PTR, &t_health, NULL, false};

/* types.ContainerState */
static const struct cb_gofield f_state[] = {{"Health", &t_health_p}, {NULL, NULL}};
static const struct cb_gotype t_state = {CB_GO_STRUCT, NULL, f_state, false};
static const struct cb_gotype t_state_p = {CB_GO_PTR, &t_state, NULL, false};

/* container.LogConfig */
static const struct cb_gofield f_logconfig[] = {
    {"Type", &t_string}, {"Config", &t_strmap}, {NULL, NULL}};
static const struct cb_gotype t_logconfig = {CB_GO_STRUCT, NULL, f_logconfig, true};

/* container.RestartPolicy */
static const struct cb_gofield f_restart[] = {
    {"Name", &t_string}, {"MaximumRetryCount", &t_int}, {NULL, NULL}};
static const struct cb_gotype t_restart = {CB_GO_STRUCT, NULL, f_restart, true};

/* nat.PortMap: map[Port][]PortBinding */
static const struct cb_gofield f_portbinding[] = {
    {"HostIp", &t_string}, {"HostPort", &t_string}, {NULL, NULL}};
static const struct cb_gotype t_portbinding = {CB_GO_STRUCT, NULL, f_portbinding, true};
static const struct cb_gotype t_portbindings = {CB_GO_SLICE, &t_portbinding, NULL, false};
static const struct cb_gotype t_portmap = {CB_GO_MAP, &t_portbindings, NULL, false};

/* container.HostConfig */
static const struct cb_gofield f_hostconfig[] = {
    {"Binds", &t_strings},
    {"LogConfig", &t_logconfig},
    {"PortBindings", &t_portmap},
    {"RestartPolicy", &t_restart},
    {"AutoRemove", &t_bool},
    {"VolumesFrom", &t_strings},
    {"CapAdd", &t_strings},
    {"CapDrop", &t_strings},
    {"Dns", &t_strings},
    {"DnsOptions", &t_strings},
    {"DnsSearch", &t_strings},
    {"ExtraHosts", &t_strings},
    {"GroupAdd", &t_strings},
    {"Links", &t_strings},
    {"SecurityOpt", &t_strings},
    {"StorageOpt", &t_strmap},
    {"Tmpfs", &t_strmap},
    {"Sysctls", &t_strmap},
    {"ConsoleSize", &t_anys},
    {"Devices", &t_anys},
    {"DeviceCgroupRules", &t_strings},
    {"DeviceRequests", &t_anys},
    {"Ulimits", &t_anys},
    {"BlkioWeightDevice", &t_anys},
    {"BlkioDeviceReadBps", &t_anys},
    {"BlkioDeviceWriteBps", &t_anys},
    {"BlkioDeviceReadIOps", &t_anys},
    {"BlkioDeviceWriteIOps", &t_anys},
    {"MemorySwappiness", &t_ptr},
    {"OomKillDisable", &t_ptr},
    {"PidsLimit", &t_ptr},
    {"Init", &t_ptr},
    {"Mounts", &t_anys},
    {"MaskedPaths", &t_strings},
    {"ReadonlyPaths", &t_strings},
    {NULL, NULL},
};
static const struct cb_gotype t_hostconfig = {CB_GO_STRUCT, NULL, f_hostconfig, false};
static const struct cb_gotype t_hostconfig_p = {CB_GO_PTR, &t_hostconfig, NULL, false};

/* types.GraphDriverData */
static const struct cb_gofield f_graphdriver[] = {
    {"Data", &t_strmap}, {"Name", &t_string}, {NULL, NULL}};
static const struct cb_gotype t_graphdriver = {CB_GO_STRUCT, NULL, f_graphdriver, true};

/* network.EndpointSettings */
static const struct cb_gofield f_endpoint[] = {{"IPAMConfig", &t_ptr},
                                               {"Links", &t_strings},
                                               {"Aliases", &t_strings},
                                               {"DriverOpts", &t_strmap},
                                               {NULL, NULL}};
static const struct cb_gotype t_endpoint = {CB_GO_STRUCT, NULL, f_endpoint, false};
static const struct cb_gotype t_endpoint_p = {CB_GO_PTR, &t_endpoint, NULL, false};
static const struct cb_gotype t_networks = {CB_GO_MAP, &t_endpoint_p, NULL, false};

/* types.NetworkSettings */
static const struct cb_gofield f_netsettings[] = {
    {"Ports", &t_portmap},
    {"SecondaryIPAddresses", &t_anys},
    {"SecondaryIPv6Addresses", &t_anys},
    {"Networks", &t_networks},
    {NULL, NULL},
};
static const struct cb_gotype t_netsettings = {CB_GO_STRUCT, NULL, f_netsettings, false};
static const struct cb_gotype t_netsettings_p = {CB_GO_PTR, &t_netsettings, NULL, false};

/* types.MountPoint */
static const struct cb_gofield f_mount[] = {
    {"Type", &t_string},   {"Name", &t_string}, {"Source", &t_string}, {"Destination", &t_string},
    {"Driver", &t_string}, {"Mode", &t_string}, {"RW", &t_bool},       {"Propagation", &t_string},
    {NULL, NULL},
};
static const struct cb_gotype t_mount = {CB_GO_STRUCT, NULL, f_mount, true};
static const struct cb_gotype t_mounts = {CB_GO_SLICE, &t_mount, NULL, false};

static const struct cb_gofield f_container[] = {
    {"Args", &t_strings},
    {"State", &t_state_p},
    {"ExecIDs", &t_strings},
    {"HostConfig", &t_hostconfig_p},
    {"GraphDriver", &t_graphdriver},
    {"SizeRw", &t_ptr},
    {"SizeRootFs", &t_ptr},
    {"Mounts", &t_mounts},
    {"Config", &t_config_p},
    {"NetworkSettings", &t_netsettings_p},
    {NULL, NULL},
};
const struct cb_gotype cb_docker_container = {CB_GO_STRUCT, NULL, f_container, false};

/* types.RootFS */
static const struct cb_gofield f_rootfs[] = {
    {"Type", &t_string}, {"Layers", &t_strings}, {NULL, NULL}};
static const struct cb_gotype t_rootfs = {CB_GO_STRUCT, NULL, f_rootfs, false};

static const struct cb_gofield f_image[] = {
    {"RepoTags", &t_strings},
    {"RepoDigests", &t_strings},
    {"ContainerConfig", &t_config_p},
    {"Config", &t_config_p},
    {"GraphDriver", &t_graphdriver},
    {"RootFS", &t_rootfs},
    {NULL, NULL},
};
const struct cb_gotype cb_docker_image = {CB_GO_STRUCT, NULL, f_image, false};
