# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repository set option shared by repo_priorities and repo_check."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """The C(repos) option: the repo_setup list with classes and GPG options."""

    DOCUMENTATION = r"""
options:
  repos:
    description: The repository set.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - V(rpm) for yum/dnf, V(deb) or V(deb-src) for APT. May be omitted when O(repos[].line) is given.
        type: str
      name:
        description:
          - Repository id (rpm) or file name without extension (deb). Unique per type.
        type: str
        required: true
      uri:
        description:
          - Base URL (C(baseurl) for rpm).
          - An rpm entry without it edits the repository of that id that already exists on the
            host (only the keys the entry sets), and is an error when there is none.
        type: str
      suite:
        description: APT suite (distribution); deb only.
        type: str
      section:
        description: APT components, a list or a space-separated string; deb only.
        type: raw
      line:
        description: A one-line APT source C(deb [options] URI SUITE COMPONENT...) instead of O(repos[].uri)/O(repos[].suite)/O(repos[].section).
        type: str
      priority:
        description:
          - yum/dnf priority (1-99, lower wins) or APT pin priority (integer).
          - When unset the preset of O(repos[].class) applies.
        type: raw
      class:
        description:
          - Repository class whose preset priority applies when O(repos[].priority) is unset.
          - One of V(upstream), V(extra), V(vendor), V(holdback), V(developer).
        type: str
        default: extra
      enabled:
        description: Whether the repository is enabled.
        type: bool
        default: true
      description:
        description: Human-readable C(name=) of a yum repository (defaults to the id).
        type: str
      gpgcheck:
        description: Check package signatures (rpm).
        type: bool
        default: true
      gpgkey:
        description: URL(s) of the signing key (rpm), space-separated.
        type: str
      sslverify:
        description: Verify the server's TLS certificate (rpm); unset leaves dnf's default.
        type: bool
      proxy:
        description: Proxy URL for this repository (rpm), or V(_none_).
        type: str
      username:
        description: HTTP user (rpm); the file becomes mode 0600.
        type: str
      password:
        description: HTTP password (rpm); never shown in output or diff.
        type: str
      signed_by:
        description: Keyring that signs the repository (deb); must exist on the host.
        type: path
      architectures:
        description: Restrict APT to these architectures (deb); lower-case architecture names only.
        type: list
        elements: str
      trusted:
        description: Accept the repository unsigned (deb). Avoid.
        type: bool
        default: false
      pin:
        description:
          - APT pin expression for the pin file (deb).
          - Default C(release n=<suite>), which APT compares with the C(Codename) of the Release
            file (the name sources lines carry); with O(repos[].origin) or O(repos[].label),
            C(release o=<origin>,l=<label>). C(a=) would compare the Release C(Suite)
            (C(stable), C(oldstable-updates)), which real archives set apart from the codename.
          - Needed when two repositories share a codename, e.g. C(release o=Vendor,n=stable).
        type: str
      origin:
        description:
          - Pin the repository by the C(Origin) of its Release file (deb), C(release o=<origin>).
          - No comma, no C(=), no control character.
        type: str
      label:
        description:
          - Pin the repository by the C(Label) of its Release file (deb), C(release l=<label>);
            with O(repos[].origin) both must match.
        type: str
      format:
        description: APT source file format (deb).
        type: str
        choices: [list, deb822]
        default: list
"""
