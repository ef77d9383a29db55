"""The provider contract: one test suite that every provider passes, built-in or plugin.

Test-only. Importing this module costs nothing at run time (standard library
and ``pamtui.providers``; no Textual, no pytest): pytest is imported inside
the tests, so the module can ship in the wheel for plugin authors. The
idea is ConductorOne baton-sdk's ``pkg/test``: the provider's own test module
says how to build the provider and its backend, the shared class says what
every provider must do.

A test module subclasses :class:`ProviderContract` (the class name must start
with ``Test``) and supplies three pytest fixtures:

- ``provider_factory`` -> :class:`ProviderFactory`: the entry-point type, valid
  settings (secrets as ``{ env = ... }``/``{ keyring = ... }`` references), a
  :class:`~pamtui.providers.base.ProviderContext` that resolves them, which
  settings hold secrets and their values, and the checks that do not apply
  (with the reason, shown as the skip reason);
- ``seed`` -> :class:`Seed`: the backend has been filled (at least one active
  account with an active credential and at least two access events, as far as
  the provider's capabilities go) and names what to revoke;
- ``fault_injector`` -> an object with ``inject(kind, count)`` and ``clear()``
  (:class:`FaultInjector`, e.g. :class:`pamtui.providers.faultproxy.FaultProxy`
  in front of the backend), or None for a provider without a network.

Checks (each a test method; providers built only through
``pamtui.providers.registry.create``, so the entry point is what is tested):

- protocol: ``isinstance(p, Provider)``, ``type`` is the entry-point name,
  declared capabilities, the listings are async iterators of the model's types
  named after the provider, a capability not declared yields nothing,
  ``aclose`` twice is safe, an unknown setting is refused naming the key;
- secrets: a plaintext value in a secret setting is refused with a
  ``ProviderConfigError`` that names the key and does not echo the value;
- revoke: for a credential and for an account, every action of the plan in
  order: verify says "not gone", revoke, revoke again from a fresh instance
  with the same idempotency key (a re-drive after a crash), verify says
  "gone"; nothing else changed; an action addressed to another provider is
  refused; results never contain a secret;
- events: a stream resumed from an event's cursor (in a new instance) goes on
  with the next event;
- faults: 429 (with ``Retry-After``), 500, a hang longer than the provider's
  timeout, malformed JSON and 401 (whose body echoes the ``Authorization``
  header), on the first listing and on the event stream, each end in one
  clear ``ProviderError`` (one line, naming the provider, retryable for
  429/500/timeout, never the secret), and the provider works again once the
  faults are used up; a 500 and a 401 during revoke too, and the revoke then
  succeeds when re-driven. Keep the provider's timeout and retries small in
  ``settings`` so this runs fast.

:func:`uncovered_types` lists installed provider types that have no contract
test, so no provider escapes the suite.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from pamtui.model import (
    AccessEvent,
    Account,
    AccountStatus,
    Capability,
    Credential,
    CredentialStatus,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers import registry
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext, ProviderError

CHECKS = ("protocol", "secrets", "revoke", "events", "faults")
"""Names a :class:`ProviderFactory` may list in ``not_applicable``."""
FAULTS = ("429", "500", "timeout", "malformed", "401")
RETRYABLE_FAULTS = frozenset({"429", "500", "timeout"})
STEP_TIMEOUT_S = 30.0
"""Upper bound of one provider call in the suite (a hung provider fails, never stalls)."""
MAX_MESSAGE = 1000

T = TypeVar("T")


class FaultInjector(Protocol):
    """Makes the provider's backend fail: the next ``count`` requests get fault ``kind``."""

    def inject(self, kind: str, count: int = 1) -> None: ...

    def clear(self) -> None: ...


@dataclass
class ProviderFactory:
    """How to build the provider under test; each :meth:`create` is a new instance."""

    type_name: str
    """The entry-point name in group ``pamtui.providers``."""
    settings: Mapping[str, Any]
    context: ProviderContext
    name: str = "contract-under-test"
    secret_settings: tuple[str, ...] = ()
    """Settings that must hold a secret reference (a plaintext value is refused)."""
    secret_values: tuple[str, ...] = ()
    """What the references resolve to: no error or result may contain these."""
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    """Check name (one of :data:`CHECKS`, or ``fault:KIND``) -> why it does not apply."""

    def create(self, **overrides: Any) -> Provider:
        settings = {**self.settings, **overrides}
        return registry.create(self.type_name, self.name, settings, self.context)


@dataclass(frozen=True)
class Seed:
    """What the backend holds for the revoke checks (None: the first active one listed)."""

    account_id: str | None = None
    credential_id: str | None = None


def uncovered_types(covered: Collection[str]) -> list[str]:
    """Installed provider types (entry points) that have no contract test in ``covered``."""
    return [t.name for t in registry.available_types() if t.name not in covered]


def check_every_type_covered(covered: Collection[str]) -> None:
    """Raise AssertionError naming each installed type without a contract test."""
    missing = uncovered_types(covered)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise AssertionError(
            f"unknown provider type {names}: registered in group {registry.ENTRY_POINT_GROUP!r} "
            "but no ProviderContract subclass covers it; add one (see docs/plugins.md)"
        )


# --------------------------------------------------------------------------- helpers


def _pytest() -> Any:
    import pytest  # lazily: this module is importable without pytest

    return pytest


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(factory(), STEP_TIMEOUT_S * 4))


async def _step(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)


async def _collect(iterator: AsyncIterator[T]) -> list[T]:
    async def drain() -> list[T]:
        return [item async for item in iterator]

    return await _step(drain())


async def _take(stream: AsyncIterator[T], count: int) -> list[T]:
    got: list[T] = []
    try:
        while len(got) < count:
            got.append(await _step(anext(stream)))
    except StopAsyncIteration:
        pass
    finally:
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()
    return got


def _assert_no_secret(factory: ProviderFactory, text: str, what: str) -> None:
    for secret in factory.secret_values:
        assert secret not in text, f"{what} contains the secret: {text[:300]!r}"


def _assert_clear_error(
    factory: ProviderFactory, exc: BaseException, what: str, *, named: bool = True
) -> None:
    """One line, no secret; ``named``: it says which provider (a backend failed)."""
    assert not isinstance(exc, TimeoutError), (
        f"{what}: no answer and no error within {STEP_TIMEOUT_S:g} s (the provider hangs "
        "or retries forever instead of reporting the failure)"
    )
    assert isinstance(exc, ProviderError), (
        f"{what}: expected a ProviderError, got {type(exc).__name__}: {exc!r}"
    )
    text = str(exc)
    assert text.strip(), f"{what}: the error message is empty"
    assert "\n" not in text and "\r" not in text, f"{what}: not one line: {text!r}"
    assert len(text) <= MAX_MESSAGE, f"{what}: message longer than {MAX_MESSAGE}: {text!r}"
    if named:
        assert factory.name in text, f"{what}: message does not name the provider: {text!r}"
    assert "Traceback" not in text
    _assert_no_secret(factory, text, what)
    _assert_no_secret(factory, repr(exc), what)


def _skip_unless(factory: ProviderFactory, check: str) -> None:
    reason = factory.not_applicable.get(check)
    if reason:
        _pytest().skip(f"{factory.type_name}: {check} does not apply: {reason}")


def _require(provider: Provider, capability: Capability, check: str) -> None:
    if capability not in provider.capabilities:
        _pytest().skip(f"{provider.type}: declares no {capability} capability, so no {check}")


async def _listing(provider: Provider) -> Any:
    """One read that goes to the backend: what the fault checks make fail."""
    caps = provider.capabilities
    if Capability.ACCOUNTS in caps:
        return await _collect(provider.list_accounts())
    if Capability.CREDENTIALS in caps:
        return await _collect(provider.list_credentials())
    return await _stream(provider)


async def _stream(provider: Provider) -> list[AccessEvent]:
    """The first event of a stream from its start: what the fault checks make fail."""
    return await _take(provider.stream_events(None), 1)


def _is_active(item: Account | Credential) -> bool:
    if isinstance(item, Account):
        return item.status is AccountStatus.ACTIVE
    return item.status is CredentialStatus.ACTIVE


async def _find(items: AsyncIterator[Any], wanted: str | None, what: str) -> tuple[Any, list[Any]]:
    listed = await _collect(items)
    for item in listed:
        if (wanted is None and _is_active(item)) or item.id == wanted:
            return item, listed
    raise AssertionError(
        f"the seeded {what} {wanted or '(any active one)'} is not listed ({len(listed)} listed)"
    )


def _event_key(event: AccessEvent) -> tuple[Any, ...]:
    return (event.ts, event.account_id, event.credential_id, event.method, event.path)


async def _close(provider: Provider) -> None:
    await _step(provider.aclose())


# --------------------------------------------------------------------------- the suite


class ProviderContract:
    """Subclass as ``TestXxxContract`` and supply ``provider_factory``, ``seed``, ``fault_injector``."""

    provider_type: ClassVar[str] = ""
    """The entry-point name this subclass covers (for :func:`uncovered_types`)."""

    # -- protocol ------------------------------------------------------------

    def test_protocol_conformance(self, provider_factory: ProviderFactory, seed: Seed) -> None:
        factory = provider_factory
        _skip_unless(factory, "protocol")

        async def check() -> None:
            provider = factory.create()
            try:
                assert isinstance(provider, Provider), "does not implement the Provider protocol"
                assert type(provider) is registry.load_type(factory.type_name)
                assert provider.type == factory.type_name, (
                    f"type {provider.type!r} is not the entry-point name {factory.type_name!r}"
                )
                assert provider.name == factory.name
                _assert_no_secret(factory, repr(provider) + str(provider), "repr(provider)")
                caps = provider.capabilities
                assert isinstance(caps, frozenset) and caps, "capabilities: a non-empty frozenset"
                assert all(isinstance(c, Capability) for c in caps), caps
                await self._check_listings(provider)
                stream = provider.stream_events(None)
                assert hasattr(stream, "__anext__"), "stream_events must return an async iterator"
                if Capability.EVENTS not in caps:
                    assert await _take(stream, 1) == [], "events without the events capability"
                elif hasattr(stream, "aclose"):
                    await stream.aclose()
            finally:
                await _close(provider)
            await _close(provider)  # a second aclose is harmless

        _run(check)

    async def _check_listings(self, provider: Provider) -> None:
        caps = provider.capabilities
        accounts_it = provider.list_accounts()
        assert hasattr(accounts_it, "__anext__"), "list_accounts must return an async iterator"
        accounts = await _collect(accounts_it)
        credentials = await _collect(provider.list_credentials(None))
        if Capability.ACCOUNTS not in caps:
            assert accounts == [], "accounts listed without the accounts capability"
        else:
            assert accounts, "the seeded backend lists no account"
        if Capability.CREDENTIALS not in caps:
            assert credentials == [], "credentials listed without the credentials capability"
        for account in accounts:
            assert isinstance(account, Account), type(account)
            assert account.provider == provider.name and account.id, account
        for credential in credentials:
            assert isinstance(credential, Credential), type(credential)
            assert credential.provider == provider.name and credential.id, credential
        if accounts:
            owners = {c.account_id for c in credentials}
            owner = next((a for a in accounts if a.id in owners), accounts[0])
            own = await _collect(provider.list_credentials(owner))
            assert all(c.account_id == owner.id for c in own), "credentials of another account"
            if credentials:
                assert own, f"list_credentials({owner.id}) is empty, list_credentials() is not"
            for action in provider.revoke_actions(owner):
                assert isinstance(action, RevokeAction), action
                assert action.provider == provider.name and action.target_id == owner.id
                assert action.name and action.label, action

    def test_unknown_setting_is_refused(self, provider_factory: ProviderFactory) -> None:
        factory = provider_factory
        _skip_unless(factory, "protocol")
        with _pytest().raises(ProviderConfigError) as caught:
            factory.create(no_such_setting_x9=1)
        assert "no_such_setting_x9" in str(caught.value)

    # -- secrets -------------------------------------------------------------

    def test_plaintext_secrets_are_refused(self, provider_factory: ProviderFactory) -> None:
        factory = provider_factory
        _skip_unless(factory, "secrets")
        if not factory.secret_settings:
            _pytest().skip(f"{factory.type_name}: has no secret settings")
        plain = (*factory.secret_values, "plaintext-secret-in-config-0042")
        for index, key in enumerate(factory.secret_settings):
            value = plain[min(index, len(plain) - 1)]
            with _pytest().raises(ProviderConfigError) as caught:
                factory.create(**{key: value})
            text = str(caught.value)
            assert key in text, f"the error does not name setting {key!r}: {text!r}"
            assert value not in text, f"the error echoes the plaintext secret: {text!r}"
            _assert_no_secret(factory, text, f"plaintext {key}")

    # -- revoke --------------------------------------------------------------

    def test_revoke_credential_twice_then_verify(
        self, provider_factory: ProviderFactory, seed: Seed
    ) -> None:
        self._revoke_plan(provider_factory, seed, credential=True)

    def test_revoke_account_twice_then_verify(
        self, provider_factory: ProviderFactory, seed: Seed
    ) -> None:
        self._revoke_plan(provider_factory, seed, credential=False)

    def _revoke_plan(self, factory: ProviderFactory, seed: Seed, *, credential: bool) -> None:
        _skip_unless(factory, "revoke")

        async def check() -> None:
            provider = factory.create()
            try:
                _require(provider, Capability.REVOKE, "revoke")
                if credential:
                    _require(provider, Capability.CREDENTIALS, "credential to revoke")
                    target, _ = await _find(
                        provider.list_credentials(None), seed.credential_id, "credential"
                    )
                else:
                    _require(provider, Capability.ACCOUNTS, "account to revoke")
                    target, _ = await _find(provider.list_accounts(), seed.account_id, "account")
                before = await self._bystanders(provider, target)
                actions = sorted(provider.revoke_actions(target), key=lambda a: a.order)
                assert actions, f"no revoke action for {target.id}"
                for n, action in enumerate(actions):
                    await self._revoke_twice(factory, provider, action, f"contract-{n}")
                after = await self._bystanders(provider, target)
                changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
                assert not changed, f"revoking {target.id} also changed {sorted(changed)[:5]}"
            finally:
                await _close(provider)

        _run(check)

    async def _bystanders(
        self, provider: Provider, target: Account | Credential
    ) -> dict[tuple[str, str], str]:
        """Status of every other account and credential (credentials of the target's account
        are its business: deactivating an account may end them)."""
        account_id = target.account_id if isinstance(target, Credential) else target.id
        state: dict[tuple[str, str], str] = {}
        for account in await _collect(provider.list_accounts()):
            if account.id != account_id:
                state[("account", account.id)] = str(account.status)
        for cred in await _collect(provider.list_credentials(None)):
            if cred.account_id != account_id and cred.id != target.id:
                state[("credential", cred.id)] = str(cred.status)
        return state

    async def _revoke_twice(
        self, factory: ProviderFactory, provider: Provider, action: RevokeAction, key: str
    ) -> None:
        assert action.provider == provider.name, action
        other = dataclasses.replace(action, provider=f"{provider.name}-other")
        with _pytest().raises(ProviderError):
            await _step(provider.revoke(other, key))
        before = await _step(provider.verify(action))
        assert isinstance(before, VerifyResult)
        assert not before.gone, f"verify({action.name}) says gone before revoke: {before}"
        first = await _step(provider.revoke(action, key))
        self._check_result(factory, first, action)
        again = factory.create()  # a re-drive after a restart: a new instance, the same key
        try:
            second = await _step(again.revoke(action, key))
            self._check_result(factory, second, action)
            verified = await _step(again.verify(action))
        finally:
            await _close(again)
        assert isinstance(verified, VerifyResult)
        assert verified.gone, f"verify({action.name}) after revoke is not gone: {verified}"
        _assert_no_secret(factory, repr(verified), f"verify({action.name})")

    @staticmethod
    def _check_result(factory: ProviderFactory, result: RevokeResult, action: RevokeAction) -> None:
        assert isinstance(result, RevokeResult), result
        assert result.ok, f"revoke({action.name}) not ok: {result}"
        _assert_no_secret(factory, repr(result), f"revoke({action.name})")

    # -- events --------------------------------------------------------------

    def test_stream_resumes_from_a_cursor(
        self, provider_factory: ProviderFactory, seed: Seed
    ) -> None:
        factory = provider_factory
        _skip_unless(factory, "events")

        async def check() -> None:
            provider = factory.create()
            try:
                _require(provider, Capability.EVENTS, "events")
                first = await _take(provider.stream_events(None), 2)
            finally:
                await _close(provider)
            assert len(first) == 2, "the seeded backend must hold at least two events"
            for event in first:
                assert isinstance(event, AccessEvent) and event.provider == factory.name, event
                assert event.cursor, f"an event without a cursor: {event}"
            restarted = factory.create()
            try:
                resumed = await _take(restarted.stream_events(first[0].cursor), 1)
            finally:
                await _close(restarted)
            assert resumed, "nothing after the cursor of the first event"
            assert _event_key(resumed[0]) == _event_key(first[1]), (
                f"resumed at {resumed[0]}, expected {first[1]}"
            )

        _run(check)

    def test_foreign_cursor_is_a_clear_error(self, provider_factory: ProviderFactory) -> None:
        """A cursor from another provider type or a damaged state file: an error, not a crash."""
        factory = provider_factory
        _skip_unless(factory, "events")

        async def check() -> None:
            provider = factory.create()
            try:
                _require(provider, Capability.EVENTS, "events")
                for cursor in ("okta-log.v1.%%%", "ct1|not-a-time|", "7:not-an-offset", "{}"):
                    with _pytest().raises(Exception) as caught:
                        await _take(provider.stream_events(cursor), 1)
                    _assert_clear_error(factory, caught.value, f"cursor {cursor!r}", named=False)
            finally:
                await _close(provider)

        _run(check)

    # -- faults --------------------------------------------------------------

    def test_429_with_retry_after_is_a_clear_error(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        self._fault(provider_factory, fault_injector, "429")

    def test_5xx_is_a_clear_error(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        self._fault(provider_factory, fault_injector, "500")

    def test_timeout_is_a_clear_error(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        self._fault(provider_factory, fault_injector, "timeout")

    def test_malformed_json_is_a_clear_error(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        self._fault(provider_factory, fault_injector, "malformed")

    def test_401_is_a_clear_error_without_the_secret(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        self._fault(provider_factory, fault_injector, "401")

    def test_failed_revoke_is_a_clear_error_and_can_be_redriven(
        self, provider_factory: ProviderFactory, seed: Seed, fault_injector: Any
    ) -> None:
        """A 5xx then a 401 during revoke: clear errors; once the backend is back, it works."""
        factory = provider_factory
        self._need_faults(factory, fault_injector, "500")
        self._need_faults(factory, fault_injector, "401")

        async def check() -> None:
            provider = factory.create()
            try:
                _require(provider, Capability.REVOKE, "revoke")
                if Capability.CREDENTIALS in provider.capabilities:
                    found = provider.list_credentials(None)
                    target, _ = await _find(found, seed.credential_id, "credential")
                else:
                    _require(provider, Capability.ACCOUNTS, "account to revoke")
                    target, _ = await _find(provider.list_accounts(), seed.account_id, "account")
                action = min(provider.revoke_actions(target), key=lambda a: a.order)
                for kind in ("500", "401"):
                    fault_injector.inject(kind, 100)
                    try:
                        with _pytest().raises(Exception) as caught:
                            await _step(provider.revoke(action, "contract-fault"))
                    finally:
                        fault_injector.clear()
                    _assert_clear_error(factory, caught.value, f"revoke under fault {kind}")
                self._check_result(
                    factory, await _step(provider.revoke(action, "contract-fault")), action
                )
                assert (await _step(provider.verify(action))).gone, "not gone after the re-drive"
            finally:
                await _close(provider)

        _run(check)

    @staticmethod
    def _need_faults(factory: ProviderFactory, injector: FaultInjector | None, kind: str) -> None:
        _skip_unless(factory, "faults")
        _skip_unless(factory, f"fault:{kind}")
        if injector is None:
            _pytest().skip(f"{factory.type_name}: no fault injector (no network)")

    def _fault(self, factory: ProviderFactory, injector: FaultInjector | None, kind: str) -> None:
        self._need_faults(factory, injector, kind)
        assert injector is not None

        async def fails(provider: Provider, probe: Callable[[Provider], Awaitable[Any]]) -> None:
            what = f"fault {kind} in {probe.__name__.strip('_')}"
            injector.inject(kind, 100)
            try:
                await probe(provider)
            except Exception as exc:
                caught: BaseException = exc
            else:
                raise AssertionError(f"{what}: the provider did not fail")
            finally:
                injector.clear()
            _assert_clear_error(factory, caught, what)
            assert isinstance(caught, ProviderError)
            if kind in RETRYABLE_FAULTS:
                assert caught.retryable, f"{what}: should be retryable: {caught}"
            elif kind == "401":
                assert not caught.retryable, f"{what}: a 401 is not retryable: {caught}"
            await probe(provider)  # the faults are used up: the same instance works again

        async def check() -> None:
            provider = factory.create()
            try:
                await fails(provider, _listing)
                if Capability.EVENTS in provider.capabilities:
                    await fails(provider, _stream)
            finally:
                await _close(provider)

        _run(check)


def covered_types(classes: Iterable[type]) -> set[str]:
    """The ``provider_type`` of each ProviderContract subclass among ``classes``."""
    return {
        cls.provider_type
        for cls in classes
        if isinstance(cls, type) and issubclass(cls, ProviderContract) and cls.provider_type
    }
