/* S7CommPlus password legitimation answers. See s7p_legit.h. */
#include "s7plus/s7p_legit.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define EXPORTER_LABEL "EXPERIMENTAL_OMS"

static int sha(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    unsigned n = 0;
    return EVP_Digest(data, len, out, &n, md, NULL) == 1 ? PLCIO_OK : PLCIO_EINTERNAL;
}

int s7p_legit_legacy(const char *password, const uint8_t *challenge, size_t clen, uint8_t *out)
{
    if (clen < S7P_LEGIT_LEGACY_LEN) return PLCIO_EPROTO;
    uint8_t h[20];
    int rc = sha(EVP_sha1(), password, strlen(password), h);
    if (rc) return rc;
    for (size_t k = 0; k < S7P_LEGIT_LEGACY_LEN; k++)
        out[k] = (uint8_t)(h[k] ^ challenge[k]);
    OPENSSL_cleanse(h, sizeof h);
    return PLCIO_OK;
}

int s7p_legit_new(s7p_ssl *ssl, const char *password, const uint8_t *challenge, size_t clen, uint8_t *out)
{
    if (clen < 16) return PLCIO_EPROTO;
    if (!ssl) return PLCIO_EUNSUPPORTED;
    uint8_t secret[32], key[32], plain[32];
    static const char label[] = EXPORTER_LABEL;
    if (SSL_export_keying_material((SSL *)ssl, secret, sizeof secret, label, sizeof label - 1, NULL, 0, 0) != 1)
        return PLCIO_EUNSUPPORTED;
    int rc = sha(EVP_sha256(), secret, sizeof secret, key);
    if (!rc) rc = sha(EVP_sha1(), password, strlen(password), plain);
    EVP_CIPHER_CTX *x = rc ? NULL : EVP_CIPHER_CTX_new();
    if (!rc) {
        int n1 = 0, n2 = 0;
        /* 20 bytes, PKCS#7 padding by the cipher: 32 bytes out */
        if (!x || EVP_EncryptInit_ex(x, EVP_aes_256_cbc(), NULL, key, challenge) != 1 ||
            EVP_EncryptUpdate(x, out, &n1, plain, 20) != 1 || EVP_EncryptFinal_ex(x, out + n1, &n2) != 1 ||
            n1 + n2 != (int)S7P_LEGIT_NEW_LEN)
            rc = PLCIO_EINTERNAL;
    }
    EVP_CIPHER_CTX_free(x);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}
