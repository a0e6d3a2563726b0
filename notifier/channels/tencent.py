"""Tencent Cloud SMS (``SendSms``, version 2021-01-11), kind ``tencent-sms``.

Requests are signed with ``TC3-HMAC-SHA256``
(https://cloud.tencent.com/document/api/382/52071), as the SDK
(``tencentcloud-sdk-python-common``) signs them: ``content-type`` and ``host`` signed, the
body's SHA-256 in the canonical request, the key derived from the date and the service. We sign
here with our own session; a test checks the signature equals the SDK's.

The body: ``{"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": .., "SignName": ..,
"TemplateId": .., "TemplateParamSet": [..], "SessionContext": <message id>}``.
``SessionContext`` comes back in delivery reports. The answer is
``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": ..}], "RequestId": ..}}`` or
``{"Response": {"Error": {"Code": .., "Message": ..}}}``; ``SerialNo`` is the id reports name.

Options: ``secret_id``, ``sms_sdk_app_id``, ``sign_name``, ``region`` (ap-guangzhou),
``endpoint`` (default ``https://sms.tencentcloudapi.com``), ``templates`` with params named
``1``, ``2``, ... as the approved text's ``{1}``, ``{2}``, ``timeout``, ``max_length``,
``max_param_length`` (12, what Tencent allows an individual account; 0 for an enterprise
account, which has no limit); secrets: ``secret_key``,
``callback_token`` (the token of our callback URLs, see :mod:`notifier.channels.receipts`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

import phonenumbers
import requests
from pydantic import Field

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment, SendResult
from notifier.channels.http import retry_after
from notifier.channels.options import KindOptions, parse_config
from notifier.channels.vendor_sms import (
    DAILY_PER_ACCOUNT,
    DAILY_PER_NUMBER,
    PER_30_SECONDS,
    PER_HOUR,
    CodeTable,
    VendorSmsOptions,
    VendorSmsProvider,
)
from notifier.errors import ChannelError, ConfigError

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
CONTENT_TYPE = "application/json; charset=utf-8"

# https://cloud.tencent.com/document/product/382/59177 (SendSms error codes; the frequency
# limits are the console's 频率限制 settings, https://cloud.tencent.com/document/product/382/3771
# codes 1022-1026): a 30-second, one-hour and daily limit per number, the same content to a
# number per day, and the application's (account's) daily totals. RequestLimitExceeded is the
# API's own request rate (3000 a second): backoff. The names are the SDK's
# (tencentcloud/sms/v20210111/errorcodes.py, which quotes each code's meaning).
DAILY_LIMITS = ("AppDailyLimit", "DailyLimit", "AppGlobalDailyLimit",
                "AppMainlandChinaDailyLimit", "AppCountryOrRegionDailyLimit")
WINDOWS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": PER_30_SECONDS,
    "LimitExceeded.PhoneNumberOneHourLimit": PER_HOUR,
    "LimitExceeded.PhoneNumberDailyLimit": DAILY_PER_NUMBER,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": DAILY_PER_NUMBER,
    # 下发短信命中了频率限制策略: a policy set in the console, its window not in the answer.
    "LimitExceeded.DeliveryFrequencyLimit": PER_HOUR,
    **{f"LimitExceeded.{name}": DAILY_PER_ACCOUNT for name in DAILY_LIMITS},
}

CODES = CodeTable(
    windows=WINDOWS,
    exact={
        "Ok": "sent",
        "RequestLimitExceeded": "throttled",
        "LimitExceeded.PhoneNumberCountLimit": "permanent",  # too many numbers in one request
        # The number's country is barred in the console: no wait makes it pass.
        "LimitExceeded.AppCountryOrRegionInBlacklist": "permanent",
        "InvalidParameterValue.IncorrectPhoneNumber": "permanent",
        "FailedOperation.PhoneNumberInBlacklist": "permanent",
        "FailedOperation.PhoneNumberOnBlacklist": "permanent",
        # The balance comes back when staff top the package up: worth retrying until then.
        "FailedOperation.InsufficientBalanceInSmsPackage": "transient",
    },
    prefixes={
        "LimitExceeded.": "throttled",
        "AuthFailure.": "permanent",
        "InternalError.": "transient",
        "InternalError": "transient",
        "InvalidParameter": "permanent",
        "FailedOperation.": "permanent",
        "UnauthorizedOperation.": "permanent",
        "UnsupportedOperation.": "permanent",
        "MissingParameter": "permanent",
    },
)


class TencentSmsOptions(VendorSmsOptions):
    """The Tencent Cloud account's options."""

    secret_id: str = Field(min_length=1)
    sms_sdk_app_id: str = Field(min_length=1)
    region: str = "ap-guangzhou"
    endpoint: str = DEFAULT_ENDPOINT
    max_param_length: int = Field(default=12, ge=0, le=500)


class TencentSmsSecrets(KindOptions):
    """The API secret key."""

    secret_key: str = Field(min_length=1)
    # Ours, not the vendor's: the ``token`` of the callback URLs set at the vendor.
    callback_token: str | None = Field(default=None, min_length=16)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def authorization(
    *,
    method: str,
    path: str,
    query: str,
    content_type: str,
    host: str,
    body: bytes,
    timestamp: int,
    secret_id: str,
    secret_key: str,
    service: str = SERVICE,
) -> str:
    """The ``Authorization`` header of a ``TC3-HMAC-SHA256`` request.

    Parameters:
        method, path, query: the request line (``POST``, ``/``, ``""``).
        content_type, host: the two signed headers, exactly as sent.
        body: the request body bytes.
        timestamp: unix seconds, as sent in ``X-TC-Timestamp``; its UTC date is in the scope.
    """
    canonical_headers = (
        f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    )
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [method, path, query, canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()]
    )
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope,
         hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, "
        f"Signature={signature}"
    )


class TencentSmsProvider(VendorSmsProvider):
    """Sends each message as one signed ``SendSms`` request to Tencent Cloud."""

    kind: ClassVar[str] = "tencent-sms"
    codes: ClassVar[CodeTable] = CODES

    def __init__(
        self, *, config: ProviderConfig, options: TencentSmsOptions, secret_key: str,
        environment: ProviderEnvironment, session: requests.Session | None = None,
    ) -> None:
        super().__init__(config=config, options=options, environment=environment, session=session)
        self._options = options
        self._secret_key = secret_key
        self._endpoint = options.endpoint.rstrip("/")

    @classmethod
    def from_config(
        cls, config: ProviderConfig, *, environment: ProviderEnvironment,
        session: requests.Session | None = None,
    ) -> TencentSmsProvider:
        """Build the provider from its config.

        Raises:
            ConfigError: an option or the secret is missing or wrong, a kind in use has no
                template, or a template's params are not named 1, 2, ... as its text.
        """
        options, secrets = parse_config(config, TencentSmsOptions, TencentSmsSecrets)
        for kind, template in options.templates.items():
            expected = [str(n) for n in range(1, len(template.params) + 1)]
            if sorted(template.params, key=lambda n: (len(n), n)) != expected:
                raise ConfigError(
                    f"{config.label}: option templates.{kind}.params: 腾讯云模板参数须名为 1, 2, "
                    f"… / Tencent template params are named 1, 2, ... as {{1}}, {{2}} in the text"
                )
        return cls(
            config=config, options=options, secret_key=secrets.secret_key,
            environment=environment, session=session,
        )

    def send(self, message: Message) -> SendResult:
        """Send one templated SMS.

        Raises:
            ThrottledError: a ``LimitExceeded.*`` answer.
            TransientError: timeout, connection error, ``InternalError.*``.
            PermanentError: an invalid number, a refused signature, a bad template.
        """
        if "template_code" not in message.payload:
            raise self.failure("没有短信模板 / message has no template code", transient=False)
        number = self.national_number(message.to)
        params = message.payload.get("params", {})
        body = json.dumps(
            {
                "PhoneNumberSet": [
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                ],
                "SmsSdkAppId": self._options.sms_sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": str(message.payload["template_code"]),
                "TemplateParamSet": [params[str(n)] for n in range(1, len(params) + 1)],
                "SessionContext": message.message_id,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        host = urlsplit(self._endpoint).netloc
        timestamp = int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self._options.region,
            "Authorization": authorization(
                method="POST", path="/", query="", content_type=CONTENT_TYPE, host=host,
                body=body, timestamp=timestamp, secret_id=self._options.secret_id,
                secret_key=self._secret_key,
            ),
        }
        response = self.post(f"{self._endpoint}/", body=body, headers=headers, message=message)
        answer = _response(response)
        error = answer.get("Error")
        if isinstance(error, dict):
            raise self._error(str(error.get("Code", "")), error, response.status_code)
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0] if isinstance(statuses, list) and statuses else {}
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise self._error(code, status, response.status_code)
        serial = status.get("SerialNo")
        return SendResult(provider=self.name, provider_message_id=str(serial) if serial else None)

    def error_for(self, url: str, response: requests.Response) -> ChannelError:
        """Read the vendor's error code from a non-2xx answer, when it sent one."""
        error = _response(response).get("Error")
        if not isinstance(error, dict):
            error = {}
        return self._error(
            str(error.get("Code", "")), error, response.status_code, wait=retry_after(response)
        )

    def _error(
        self, code: str, data: Mapping[str, object], status: int, *, wait: float | None = None
    ) -> ChannelError:
        reason = f"腾讯云短信 / tencent sms {code or f'HTTP {status}'}: {data.get('Message', '')}"
        return self.codes.error(code, reason[: self.reason_limit], status=status, retry_after=wait)


def _response(response: requests.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    inner = data.get("Response") if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else {}
