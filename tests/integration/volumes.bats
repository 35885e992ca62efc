#!/usr/bin/env bats
# Volumes: crowbar volume create/ls/inspect/rm/prune, -v NAME:/path and --mount, the copy
# of the image's files into a new volume, anonymous volumes (the image's VOLUMEs, -v /path)
# and their removal with rm -v and run --rm, and what diff, export and commit leave out.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
  crowbar import -c 'VOLUME /etc' "$(fixture_rootfs)" withvol >/dev/null
}
teardown() {
  crowbar_remove_all
  for v in $(crowbar volume ls -q); do crowbar volume rm "$v" >/dev/null; done
}
teardown_file() { crowbar_teardown_root; }

@test "volume create, ls, inspect and rm, in Docker's shapes" {
  run crowbar volume create data
  [ "$output" = data ]
  run crowbar volume create
  [[ "$output" =~ ^[0-9a-f]{64}$ ]]
  anon=$output
  run crowbar volume ls
  [ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
  [[ "$output" == *"local     data"* ]] && [[ "$output" == *"local     $anon"* ]]
  run crowbar volume ls -q
  [ "${#lines[@]}" -eq 2 ] && [[ "$output" == *data* ]] && [[ "$output" == *"$anon"* ]]
  run crowbar volume ls --format '{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}}'
  [[ "$output" == *"data local local $CROWBAR_ROOT/volumes/data/_data"* ]]
  run crowbar volume inspect data
  [ "${lines[0]}" = "[" ]
  [[ "$output" == *'"Driver": "local",'* ]] && [[ "$output" == *'"Scope": "local"'* ]]
  [[ "$output" == *"\"Mountpoint\": \"$CROWBAR_ROOT/volumes/data/_data\","* ]]
  [[ "$output" =~ \"CreatedAt\":\ \"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[+-][0-9]{2}:[0-9]{2})\" ]]
  run crowbar volume inspect -f '{{.Name}} {{json .Labels}} {{json .Options}}' data
  [ "$output" = 'data {} {}' ]
  run -1 crowbar volume inspect nope
  [ "$output" = $'[]\nError: No such volume: nope' ]
  crowbar volume create 10b >/dev/null && crowbar volume create 9a >/dev/null
  run bash -c "crowbar volume ls -q | grep -Ex '9a|10b'"
  [ "$output" = $'9a\n10b' ] # natural order, as Docker sorts
  crowbar volume rm 9a 10b >/dev/null
  run crowbar volume rm data "$anon"
  [ "$output" = "data"$'\n'"$anon" ]
  run -1 crowbar volume rm data
  [ "$output" = "Error: get data: no such volume" ]
  run -0 crowbar volume rm -f data
  [ -z "$output" ]
  run -1 crowbar volume create 'bad/name'
  [[ "$output" == 'Error: create bad/name: "bad/name" includes invalid characters for a local volume name'* ]]
}

@test "data in a named volume outlives the container" {
  crowbar run --rm -v keep:/data busybox sh -c 'echo kept > /data/f'
  run crowbar run --rm -v keep:/data:ro busybox cat /data/f
  [ "$output" = kept ]
  run crowbar run --rm -v keep:/data:ro busybox touch /data/g
  [ "$status" -ne 0 ]
  run crowbar volume ls -q
  [ "$output" = keep ]
}

@test "a new volume on a path the image fills gets the image's files; a used one does not" {
  crowbar run --name fill -v etcvol:/etc busybox true
  [ -f "$CROWBAR_ROOT/volumes/etcvol/_data/passwd" ]
  cmp "$CROWBAR_ROOT/volumes/etcvol/_data/passwd" <(crowbar run --rm busybox cat /etc/passwd)
  run crowbar inspect -f '{{json .Mounts}}' fill
  [ "$output" = "[{\"Type\":\"volume\",\"Name\":\"etcvol\",\"Source\":\"$CROWBAR_ROOT/volumes/etcvol/_data\",\"Destination\":\"/etc\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"}]" ]
  # Not empty any more: a second container's image files are not copied over it.
  rm "$CROWBAR_ROOT/volumes/etcvol/_data/passwd"
  crowbar run --rm -v etcvol:/etc busybox true
  [ ! -e "$CROWBAR_ROOT/volumes/etcvol/_data/passwd" ]
  # nocopy: nothing copied (the engine's own mount points, /etc/hosts..., are made there).
  crowbar run --rm -v empty:/etc:nocopy busybox true
  [ ! -e "$CROWBAR_ROOT/volumes/empty/_data/passwd" ]
}

@test "volume rm of a volume in use (running or not) is refused with Docker's error" {
  id=$(crowbar create --name user -v busy:/data busybox true)
  run -1 crowbar volume rm busy
  [ "$output" = "Error: remove busy: volume is in use - [$id]" ]
  run -1 crowbar volume rm -f busy
  [ "$output" = "Error: remove busy: volume is in use - [$id]" ]
  crowbar rm user
  run crowbar volume rm busy
  [ "$output" = busy ]
}

@test "the image's VOLUMEs become anonymous volumes, removed by rm -v and run --rm" {
  crowbar run --name anon -v /scratch withvol sh -c 'ls /etc/passwd && echo x > /scratch/f'
  run crowbar inspect -f '{{json .Config.Volumes}} {{len .Mounts}}' anon
  [ "$output" = '{"/etc":{},"/scratch":{}} 2' ]
  run crowbar volume ls -q
  [ "${#lines[@]}" -eq 2 ]
  for v in "${lines[@]}"; do [[ "$v" =~ ^[0-9a-f]{64}$ ]]; done
  # rm without -v keeps them; prune takes them once nothing uses them.
  crowbar rm anon
  [ "$(crowbar volume ls -q | wc -l)" -eq 2 ]
  run crowbar volume prune -f
  [ "${lines[0]}" = "Deleted Volumes:" ]
  [[ "${lines[-1]}" == "Total reclaimed space: "* ]]
  [ -z "$(crowbar volume ls -q)" ]
  # rm -v removes a container's anonymous volumes, never a named one.
  crowbar run --name anon2 -v named:/named withvol true
  crowbar rm -v anon2
  run crowbar volume ls -q
  [ "$output" = named ]
  # run --rm: gone when run returns.
  crowbar run --rm withvol true
  run crowbar volume ls -q
  [ "$output" = named ]
}

@test "--mount type=volume and type=bind, as the docker CLI parses them" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo from-host >"$BATS_TEST_TMPDIR/host/f"
  run crowbar run --name mnt --mount "type=volume,src=mvol,dst=/v" \
    --mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h,readonly" \
    busybox sh -c 'cat /h/f; echo in > /v/f; touch /h/g'
  [ "${lines[0]}" = from-host ]
  [ "$status" -ne 0 ] # /h is read-only
  [ "$(cat "$CROWBAR_ROOT/volumes/mvol/_data/f")" = in ]
  run crowbar inspect -f '{{json .HostConfig.Mounts}}' mnt
  [ "$output" = "[{\"Type\":\"volume\",\"Source\":\"mvol\",\"Target\":\"/v\"},{\"Type\":\"bind\",\"Source\":\"$BATS_TEST_TMPDIR/host\",\"Target\":\"/h\",\"ReadOnly\":true}]" ]
  run crowbar inspect -f '{{range .Mounts}}{{.Type}} {{.Mode}} {{.RW}} {{.Propagation}};{{end}}' mnt
  [ "$output" = "volume  true ;bind  false rprivate;" ]
  run -125 crowbar run --mount type=bind,src=/nonexistent-crowbar,dst=/x busybox true
  [ "$output" = 'Error: invalid argument "type=bind,src=/nonexistent-crowbar,dst=/x" for "--mount" flag: invalid mount config for type "bind": bind source path does not exist: /nonexistent-crowbar' ]
  run -125 crowbar run --mount type=volume,src=x busybox true
  [[ "$output" == *"target is required" ]]
  run -125 crowbar run --mount type=volume,dst=/x,bind-propagation=shared busybox true
  [[ "$output" == *"cannot mix 'bind-*' options with mount type 'volume'" ]]
  run -125 crowbar run --mount type=volume,dst=/x,foo=bar busybox true
  [[ "$output" == *"unexpected key 'foo' in 'foo=bar'" ]]
  run -125 crowbar run -v aa:/x -v bb:/x busybox true
  [ "$output" = "Error: Duplicate mount point: /x" ]
  run -125 crowbar run -v aa:/x:bogus busybox true
  [ "$output" = "Error: invalid mode: bogus" ]
}

@test "diff never lists files inside a volume; export and commit leave their contents out" {
  crowbar run --name dv -v dvol:/data/sub -v /anon busybox \
    sh -c 'echo x > /data/sub/in; echo y > /anon/f; echo z > /out'
  run crowbar diff dv
  [ "$output" = "A /out" ]
  run bash -c "crowbar export dv | tar t"
  [[ "$output" != *data/sub/in* ]] && [[ "$output" != *anon/f* ]] && [[ "$output" == *out* ]]
  crowbar commit dv dvimg >/dev/null
  run crowbar run --rm dvimg sh -c 'ls -A /data/sub /anon'
  [ "$output" = $'/anon:\n\n/data/sub:' ]
}
