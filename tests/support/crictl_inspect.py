"""`crictl inspect --output json ID` as CRI-O answers it, for `record --container --runtime-cli crictl`
where no CRI-O runs (this VM has no crictl).

The shape, from cri-tools cmd/crictl: `inspect` marshals the CRI ContainerStatus as protobuf JSON
(`status`: id, metadata, state as the ContainerState enum name, RFC 3339 times, image, labels,
annotations, mounts, logPath) and adds the runtime's verbose info map; one id prints one object, several
a list (outputStatusData: "single entries are not encapsulated within an array"). CRI-O's verbose
info is one key, `info`, holding {sandboxID, pid, runtimeSpec, privileged} (server/container_status.go);
its systemd cgroup driver writes cgroupsPath as `<pod slice>:crio:<id>`, which systemd makes
`<pod slice>/crio-<id>.scope`. The runtimeSpec is cut to the fields that show this. @ID@, @PID@ and
@STATE@ are filled in by render().
"""

from __future__ import annotations

CRIO_INSPECT = """{
  "status": {
    "id": "@ID@",
    "metadata": {
      "attempt": 0,
      "name": "busybox"
    },
    "state": "@STATE@",
    "createdAt": "2024-05-14T09:12:01.611512345Z",
    "startedAt": "2024-05-14T09:12:01.702135791Z",
    "finishedAt": "0001-01-01T00:00:00Z",
    "exitCode": 0,
    "image": {
      "annotations": {},
      "image": "docker.io/library/busybox:latest",
      "runtimeHandler": "",
      "userSpecifiedImage": ""
    },
    "imageRef": "docker.io/library/busybox@sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb",
    "reason": "",
    "message": "",
    "labels": {
      "io.kubernetes.container.name": "busybox",
      "io.kubernetes.pod.name": "busybox-sandbox",
      "io.kubernetes.pod.namespace": "default",
      "io.kubernetes.pod.uid": "8b7e3c0a-2f4d-4a77-9d51-3c1b6f0e9a12"
    },
    "annotations": {
      "io.kubernetes.container.hash": "6f3a1b2c",
      "io.kubernetes.container.restartCount": "0",
      "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
      "io.kubernetes.container.terminationMessagePolicy": "File",
      "io.kubernetes.pod.terminationGracePeriod": "30"
    },
    "mounts": [],
    "logPath": "/var/log/pods/default_busybox-sandbox_8b7e3c0a-2f4d-4a77-9d51-3c1b6f0e9a12/busybox/0.log",
    "resources": null,
    "imageId": "",
    "user": null
  },
  "info": {
    "sandboxID": "a1a964ab46b50f3d8d503ddcf93c8076a9c554ba229614d2c70e736e4790dca1",
    "pid": @PID@,
    "runtimeSpec": {
      "ociVersion": "1.0.2-dev",
      "process": {
        "user": {"uid": 0, "gid": 0},
        "args": ["/bin/sh", "-c", "while :; do cat /proc/self/stat >/dev/null; sleep 0.05; done"],
        "cwd": "/"
      },
      "linux": {
        "cgroupsPath": "kubepods-besteffort-pod8b7e3c0a_2f4d_4a77_9d51_3c1b6f0e9a12.slice:crio:@ID@"
      }
    },
    "privileged": false
  }
}
"""


def render(container_id: str, pid: int, state: str = "CONTAINER_RUNNING") -> str:
    """The fixture for one container."""
    return CRIO_INSPECT.replace("@ID@", container_id).replace("@PID@", str(pid)).replace("@STATE@", state)
