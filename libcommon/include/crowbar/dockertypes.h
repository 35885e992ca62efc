/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Go types behind docker inspect's output, as far as templates print them differently
 * from their JSON (template.h, cb_template_exec_typed): the nil slices, maps and pointers,
 * the fields the JSON omits, the small structs printed whole. */
#ifndef CROWBAR_DOCKERTYPES_H
#define CROWBAR_DOCKERTYPES_H

#include "crowbar/template.h"

/* types.ContainerJSON (docker container inspect). */
extern const struct cb_gotype cb_docker_container;
/* types.ImageInspect (docker image inspect). */
extern const struct cb_gotype cb_docker_image;

#endif
